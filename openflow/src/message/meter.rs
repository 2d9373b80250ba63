//! Meters: OFPT_METER_MOD and the OFPMP_METER_CONFIG entries, in the
//! OpenFlow 1.3 layout OVS 3.1 sends at every version (`ofp13_meter_mod`,
//! 16-byte drop and dscp_remark bands; other band types are refused, as
//! OVS refuses them).
//!
//! Text is `ovs-ofctl`'s: [`MeterConfig`] displays as `dump-meters` prints
//! an entry (`meter=1 pktps burst stats bands=\ntype=drop rate=10
//! burst_size=20`), [`MeterMod`] as `ofp-print` does, and [`MeterConfig::parse`]
//! reads both that and `add-meter`'s comma-separated form.

use crate::value;
use crate::wire::{patch_u16, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

codes! {
    /// `ofp13_meter_mod_command`.
    MeterCommand: u16 { Add = 0, Modify = 1, Delete = 2, }
}

/// Rates in kbit/s.
pub const METER_KBPS: u16 = 1;
/// Rates in packets/s.
pub const METER_PKTPS: u16 = 2;
/// Bands have burst sizes.
pub const METER_BURST: u16 = 4;
/// Collect statistics.
pub const METER_STATS: u16 = 8;
/// The largest meter id; above are virtual meters.
pub const METER_MAX: u32 = 0xffff_0000;
/// OFPM_SLOWPATH.
pub const METER_SLOWPATH: u32 = 0xffff_fffd;
/// OFPM_CONTROLLER.
pub const METER_CONTROLLER: u32 = 0xffff_fffe;
/// OFPM_ALL.
pub const METER_ALL: u32 = 0xffff_ffff;

/// What a band does to packets over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BandType {
    /// OFPMBT_DROP.
    Drop,
    /// OFPMBT_DSCP_REMARK: raise the drop precedence by `prec_level`.
    DscpRemark { prec_level: u8 },
}

/// One meter band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Band {
    /// Kind.
    pub typ: BandType,
    /// Rate (kbps or pktps as the meter says).
    pub rate: u32,
    /// Burst size (meaningful with [`METER_BURST`]).
    pub burst_size: u32,
}

impl Band {
    fn encode(&self, out: &mut Vec<u8>) {
        let (t, prec) = match self.typ {
            BandType::Drop => (1, 0),
            BandType::DscpRemark { prec_level } => (2, prec_level),
        };
        out.put_u16(t);
        out.put_u16(16);
        out.put_u32(self.rate);
        out.put_u32(self.burst_size);
        out.put_u8(prec);
        out.put_zeros(3);
    }

    fn decode_all(r: &mut Reader) -> Result<Vec<Band>, DecodeError> {
        let mut v = Vec::new();
        while !r.is_empty() {
            let t = r.u16()?;
            let len = r.u16()? as usize;
            if len != 16 {
                return Err(r.err(K::BadLength(len)));
            }
            let rate = r.u32()?;
            let burst_size = r.u32()?;
            let prec_level = r.u8()?;
            r.skip(3)?;
            let typ = match t {
                1 => BandType::Drop,
                2 => BandType::DscpRemark { prec_level },
                _ => return Err(r.err(K::BadArgument("unknown meter band type"))),
            };
            v.push(Band { typ, rate, burst_size });
        }
        Ok(v)
    }
}

/// A meter's configuration (an OFPMP_METER_CONFIG entry; the body of a
/// METER_MOD).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeterConfig {
    /// Meter id.
    pub meter_id: u32,
    /// METER_* flags.
    pub flags: u16,
    /// Bands.
    pub bands: Vec<Band>,
}

/// OFPT_METER_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeterMod {
    /// Command.
    pub command: MeterCommand,
    /// The meter (OVS sends DELETE with no flags and no bands).
    pub meter: MeterConfig,
}

impl MeterMod {
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u16(self.command.code());
        out.put_u16(self.meter.flags);
        out.put_u32(self.meter.meter_id);
        self.meter.bands.iter().for_each(|b| b.encode(out));
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<MeterMod, DecodeError> {
        let command = MeterCommand::from_code(r.u16()?);
        let flags = r.u16()?;
        let meter_id = r.u32()?;
        let bands = Band::decode_all(r)?;
        Ok(MeterMod { command, meter: MeterConfig { meter_id, flags, bands } })
    }
}

impl MeterConfig {
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(0);
        out.put_u16(self.flags);
        out.put_u32(self.meter_id);
        self.bands.iter().for_each(|b| b.encode(out));
        let len = out.len() - start;
        patch_u16(out, start, len as u16);
    }

    pub(super) fn decode(r: &mut Reader) -> Result<MeterConfig, DecodeError> {
        let len = r.peek_u16()? as usize;
        if len < 8 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut e = r.sub(len)?;
        e.skip(2)?;
        let flags = e.u16()?;
        let meter_id = e.u32()?;
        Ok(MeterConfig { meter_id, flags, bands: Band::decode_all(&mut e)? })
    }

    /// Parses `meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=20`
    /// (`add-meter`) or the `dump-meters` form (spaces and newlines for
    /// commas).
    pub fn parse(s: &str) -> Result<MeterConfig, String> {
        let mut m = MeterConfig { meter_id: 0, flags: 0, bands: vec![] };
        let mut have_id = false;
        let mut in_bands = false;
        for tok in s.split([',', ' ', '\n', '\t']).filter(|t| !t.is_empty()) {
            let (k, v) = match tok.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (tok, None),
            };
            let num = |v: Option<&str>| -> Result<u32, String> {
                v.and_then(value::parse_int).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("bad {tok}"))
            };
            match (k, v) {
                ("meter", Some(v)) if !in_bands => {
                    m.meter_id = match v {
                        "all" => METER_ALL,
                        "controller" => METER_CONTROLLER,
                        "slowpath" => METER_SLOWPATH,
                        _ => num(Some(v))?,
                    };
                    have_id = true;
                }
                ("kbps", None) if !in_bands => m.flags |= METER_KBPS,
                ("pktps", None) if !in_bands => m.flags |= METER_PKTPS,
                ("burst", None) if !in_bands => m.flags |= METER_BURST,
                ("stats", None) if !in_bands => m.flags |= METER_STATS,
                ("bands", Some(rest)) if !in_bands => {
                    in_bands = true;
                    if let Some(t) = rest.strip_prefix("type=") {
                        m.bands.push(new_band(t)?);
                    } else if !rest.is_empty() {
                        return Err(format!("band must start with type: {tok}"));
                    }
                }
                ("type", Some(t)) if in_bands => m.bands.push(new_band(t)?),
                ("rate" | "burst_size" | "prec_level", Some(_)) if in_bands => {
                    let b = m.bands.last_mut().ok_or("band must start with type")?;
                    let n = num(v)?;
                    match (k, &mut b.typ) {
                        ("rate", _) => b.rate = n,
                        ("burst_size", _) => b.burst_size = n,
                        (_, BandType::DscpRemark { prec_level }) => {
                            *prec_level = u8::try_from(n).map_err(|_| format!("bad {tok}"))?
                        }
                        _ => return Err("prec_level on a drop band".into()),
                    }
                }
                _ => return Err(format!("unknown meter keyword {tok}")),
            }
        }
        if !have_id {
            return Err("meter is required".into());
        }
        Ok(m)
    }
}

fn new_band(t: &str) -> Result<Band, String> {
    let typ = match t {
        "drop" => BandType::Drop,
        "dscp_remark" => BandType::DscpRemark { prec_level: 0 },
        _ => return Err(format!("unknown band type {t}")),
    };
    Ok(Band { typ, rate: 0, burst_size: 0 })
}

impl fmt::Display for MeterConfig {
    /// As `ovs-ofctl dump-meters` prints it (without the final newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.meter_id {
            id if id <= METER_MAX => write!(f, "meter={id} ")?,
            METER_SLOWPATH => f.write_str("meter=slowpath ")?,
            METER_CONTROLLER => f.write_str("meter=controller ")?,
            METER_ALL => f.write_str("meter=all ")?,
            _ => f.write_str("meter=unknown ")?,
        }
        for (bit, name) in
            [(METER_KBPS, "kbps"), (METER_PKTPS, "pktps"), (METER_BURST, "burst"), (METER_STATS, "stats")]
        {
            if self.flags & bit != 0 {
                write!(f, "{name} ")?;
            }
        }
        let other = self.flags & !(METER_KBPS | METER_PKTPS | METER_BURST | METER_STATS);
        if other != 0 {
            write!(f, "flags:{other:#x} ")?;
        }
        f.write_str("bands=")?;
        for b in &self.bands {
            match b.typ {
                BandType::Drop => f.write_str("\ntype=drop")?,
                BandType::DscpRemark { .. } => f.write_str("\ntype=dscp_remark")?,
            }
            write!(f, " rate={}", b.rate)?;
            if self.flags & METER_BURST != 0 {
                write!(f, " burst_size={}", b.burst_size)?;
            }
            if let BandType::DscpRemark { prec_level } = b.typ {
                write!(f, " prec_level={prec_level}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for MeterMod {
    /// As `ofp-print` shows it: `ADD meter=1 kbps bands=\ntype=drop rate=1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command {
            MeterCommand::Add => f.write_str("ADD ")?,
            MeterCommand::Modify => f.write_str("MOD ")?,
            MeterCommand::Delete => f.write_str("DEL ")?,
            MeterCommand::Unknown(n) => write!(f, "cmd:{n} ")?,
        }
        write!(f, "{}", self.meter)
    }
}
