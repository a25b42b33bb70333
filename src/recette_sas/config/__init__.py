"""The editor's configuration: the TOML file (``loader``), its certificate files (``credentials``), and the
proof, at load, that a genuine IGC certificate can judge the CN/OU check (``genuine``)."""
