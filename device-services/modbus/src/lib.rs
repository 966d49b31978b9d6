//! EdgeX Modbus TCP/RTU device service and the modbus-sim simulator.
