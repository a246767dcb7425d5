"""HTTP and websocket server for graph-engine workflows: see README.md and PROTOCOL.md beside this file."""
