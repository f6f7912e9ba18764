"""Did it work: leaders' system-leadership confidence on joining a round and at its end."""
