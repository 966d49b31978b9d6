//! EdgeX serial (UART) device service.
