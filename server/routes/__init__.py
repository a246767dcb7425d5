"""The HTTP routes and the websocket, one module per area."""
