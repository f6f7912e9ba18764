"""Line managers release leaders' protected time for booked exchanges (issue 14)."""
