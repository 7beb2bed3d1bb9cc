# scripted_reader.py FIFO OUT FIRST PAUSE RATE: an agent's in-FIFO reader for the delivery
# fault tests. Holds the FIFO open (and a write end, as cc-bridge-agent does), reads FIRST bytes
# at RATE bytes/s (0: at once), pauses PAUSE seconds, then reads everything. Every byte read is
# appended to OUT at once, so a test can watch it. Runs until killed.
import os, sys, time, select
fifo, out, first, pause, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
keep = os.open(fifo, os.O_WRONLY)
f = open(out, "wb", buffering=0)
got = 0
while got < first:
    r, _, _ = select.select([fd], [], [], 0.05)
    if not r: continue
    b = os.read(fd, min(4096, first - got))
    f.write(b); got += len(b)
    if rate > 0: time.sleep(len(b) / rate)
time.sleep(pause)
while True:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r: f.write(os.read(fd, 65536))
