"""Value types and state machines shared by every part of neocloud (pure: no I/O, no clock)."""
