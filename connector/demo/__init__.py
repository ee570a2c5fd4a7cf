"""`tierdesk demo`: both emulators in-process with the demo seed, the real worker on a simulated
clock (a business day in about two minutes), a live terminal view, and a summary at the end."""
