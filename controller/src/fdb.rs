//! Tables 71 (`GET_FDB`, what `get_fdb` looks up) and 72 (`LOOKUP_FDB`,
//! what `lookup_fdb` checks) from SB `FDB` rows of local datapaths
//! (`consider_fdb_flows` in controller/lflow.c):
//!
//! | table | match | actions |
//! |---|---|---|
//! | 71 | metadata = dp_key, eth.dst = MAC | outport = port_key |
//! | 72 | metadata = dp_key, inport = port_key, eth.src = MAC | flags.lookup_fdb = 1 |
//!
//! Both at priority 100. Rows with a bad MAC are skipped.

use crate::addrs::eth_addr_from_string;
use crate::local::View;
use crate::physical::{load, set};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use openflow::{Field, Match};

/// Every FDB flow of the chassis.
pub fn flows(v: &View, out: &mut Flows) {
    for (u, fdb) in &v.sb.fdb {
        one(v, u.uuid(), fdb, out);
    }
}

/// The flows of one FDB row.
pub(crate) fn one(v: &View, u: ovsdb::Uuid, fdb: &logical_model::sb::Fdb, out: &mut Flows) {
    {
        let Ok(dp) = u32::try_from(fdb.dp_key) else { return };
        if v.local_dp(dp).is_none() {
            return;
        }
        let Some(mac) = eth_addr_from_string(&fdb.mac) else { return };
        let mac = mac.iter().fold(0u128, |acc, b| acc << 8 | *b as u128);
        let port = fdb.port_key as u32 as u64;
        let src = Source::Row(u);

        let mut m = Match::new();
        set(&mut m, reg::DATAPATH, dp as u128);
        set(&mut m, Field::EthDst, mac);
        out.add(table::GET_FDB, 100, m, vec![load(port, reg::OUTPORT, 0, 32)], src);

        let mut m = Match::new();
        set(&mut m, reg::DATAPATH, dp as u128);
        set(&mut m, Field::EthSrc, mac);
        set(&mut m, reg::INPORT, port as u128);
        out.add(table::LOOKUP_FDB, 100, m, vec![load(1, reg::FLAGS, flag::LOOKUP_FDB, 1)], src);
    }
}
