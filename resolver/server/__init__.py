"""The socket shells and processes: UDP/TCP listeners, upstream sockets, worker, supervisor."""
