//! Shared by the action tests: the `openflow` crate's laws on an encoding.

use openflow::action::{decode_actions, encode_actions, format_actions, parse_actions};
use openflow::wire::Reader;
use openflow::Action;

/// Whether OVS's own text of `a` does not parse back: a masked
/// `set_field` on a field that is not maskable (ovs-vswitchd installs and
/// prints `set_field:10/0x3f->ip_dscp`, `ovs-ofctl` refuses to read it).
fn text_is_one_way(a: &Action) -> bool {
    match a {
        Action::SetField { field, mask, .. } => {
            let bytes = openflow::action::value_bytes(*field);
            let full = if bytes >= 16 { u128::MAX } else { (1u128 << (8 * bytes)) - 1 };
            !field.info().maskable && *mask != full
        }
        Action::Clone(v) => v.iter().any(text_is_one_way),
        Action::Ct(ct) => ct.actions.iter().any(text_is_one_way),
        _ => false,
    }
}

/// decode(encode(x)) == x, and parse(display(x)) == x unless OVS's text
/// itself does not parse back.
pub fn laws(acts: &[Action]) -> Result<(), String> {
    let mut bytes = Vec::new();
    encode_actions(acts, &mut bytes);
    let back = decode_actions(&mut Reader::new(&bytes)).map_err(|e| format!("decode: {e:?}"))?;
    if back != acts {
        return Err(format!("decode(encode) differs: {back:?}"));
    }
    if acts.iter().any(text_is_one_way) {
        return Ok(());
    }
    let text = format_actions(acts);
    match parse_actions(&text) {
        Ok(p) if p == acts => Ok(()),
        Ok(_) => Err(format!("parse(format) differs for {text}")),
        Err(e) => Err(format!("parse({text}): {e}")),
    }
}
