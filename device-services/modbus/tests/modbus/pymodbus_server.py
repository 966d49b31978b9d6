# pymodbus server peer for the interop tests.
# usage: pymodbus_server.py tcp            -> binds 127.0.0.1:0, prints "READY port=N"
#        pymodbus_server.py rtu /dev/pts/X -> serves RTU on that tty, prints "READY"
# stdin commands: "GET <fc> <address> <count>" -> prints "VALUES <v> <v> ..." (ints, bools as 0/1)
import asyncio
import sys

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

# Input registers: Float32 21.5 | Int16 -25 | Int32 267 word-swapped | Float64 1.12 | "ABCD"
IR = [0x41AC, 0x0000, 0xFFE7, 0x010B, 0x0000, 0x3FF1, 0xEB85, 0x1EB8, 0x51EC, 0x4142, 0x4344]
DI = [True, False, True, True, False, False, False, False, True]


def device():
    return ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [False] * 64),
        di=ModbusSequentialDataBlock(1, DI + [False] * 55),
        hr=ModbusSequentialDataBlock(1, [0] * 128),
        ir=ModbusSequentialDataBlock(1, IR + [0] * 100),
    )


async def commands(server):
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        parts = line.split()
        if parts and parts[0] == "GET":
            fc, addr, count = (int(p) for p in parts[1:4])
            values = await server.async_getValues(1, fc, addr, count)
            print("VALUES " + " ".join(str(int(v)) for v in values), flush=True)


async def main():
    context = ModbusServerContext(devices={1: device()}, single=False)
    if sys.argv[1] == "tcp":
        server = ModbusTcpServer(context, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
        print(f"READY port={port}", flush=True)
    else:
        server = ModbusSerialServer(context, port=sys.argv[2], baudrate=19200)
        await server.serve_forever(background=True)
        print("READY", flush=True)
    await commands(server)


asyncio.run(main())
