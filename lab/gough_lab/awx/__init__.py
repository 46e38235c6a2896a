"""AWX API emulator of Gough's lab: the v2 REST API subset the awx.awx collection relies on (see docs/lab.md)."""
