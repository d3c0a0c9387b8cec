# A UDP sink that never reads: the kernel queues packets up to the receive buffer and drops the rest, so the
# benchmark's RTP consumers have somewhere to send without a reader spending CPU. Prints its port, exits on stdin EOF.
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
