"""Live sync: pushing each committed change to a student's open devices, and to staff."""
