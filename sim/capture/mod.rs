//! Parsers for the text real machines print: /proc/buddyinfo, pagetypeinfo, zoneinfo, slabinfo,
//! dmesg page-allocation-failure reports and node_exporter metrics.
