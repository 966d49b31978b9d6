# Serial instrument simulator for the device-uart tests.
#
# argv[1]: path of the pty end the instrument owns.
# Reports every chunk it receives on stdout as "RX <hex>". Answers queries that end its input:
#   "*IDN?\n" -> "ACME,METER,1234\r\n"      "MEAS?\n" -> "23.5\r\n"
#   "PART?\n" -> "12" (no delimiter)          "SLOW?\n" -> nothing
#   "GAP?\n"  -> "ab", 0.5 s pause, "cd"      bytes 01 03 -> 01 03 02 00 2a ff ff
# and, as an MT-SICS balance (commands end in CR LF):
#   "SI" -> "S D      12.34 g"   "S" -> "S S     100.00 g"   "I4" -> 'I4 A "B123456789"'   "Z" -> "Z A"
# Commands on stdin: "SEND <hex>" writes the bytes to the port and prints "SENT".
import binascii, sys, threading, time
import serial

port = serial.Serial(sys.argv[1], 115200, timeout=0.05)
lock = threading.Lock()

ANSWERS = {
    b"*IDN?\n": [b"ACME,METER,1234\r\n"],
    b"MEAS?\n": [b"23.5\r\n"],
    b"PART?\n": [b"12"],
    b"SLOW?\n": [],
    b"GAP?\n": [b"ab", 0.5, b"cd"],
    b"\x01\x03": [b"\x01\x03\x02\x00\x2a\xff\xff"],
    b"SI\r\n": [b"S D      12.34 g\r\n"],
    b"S\r\n": [b"S S     100.00 g\r\n"],
    b"I4\r\n": [b'I4 A "B123456789"\r\n'],
    b"Z\r\n": [b"Z A\r\n"],
}


def send(parts):
    for p in parts:
        if isinstance(p, float):
            time.sleep(p)
        else:
            with lock:
                port.write(p)
                port.flush()


def control():
    for line in sys.stdin:
        words = line.split()
        if len(words) == 2 and words[0] == "SEND":
            send([binascii.unhexlify(words[1])])
            print("SENT", flush=True)


threading.Thread(target=control, daemon=True).start()
print("READY", flush=True)
pending = b""
while True:
    try:
        chunk = port.read(256)
    except serial.SerialException:
        # The pty went away (socat stopped): the instrument is unplugged.
        sys.exit(0)
    if not chunk:
        continue
    print("RX " + chunk.hex(), flush=True)
    pending += chunk
    for query, answer in ANSWERS.items():
        if pending.endswith(query):
            pending = b""
            threading.Thread(target=send, args=(answer,), daemon=True).start()
            break
    pending = pending[-64:]
