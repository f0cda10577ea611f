"""One module per service group; each has prepare(st), services(st), setup(st)."""
