"""Each finding of the hardening audit (#12), replayed as a regression test."""
