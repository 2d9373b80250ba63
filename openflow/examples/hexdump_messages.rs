//! Prints a few messages as hex, one per line (for `ovs-ofctl ofp-print`).
use openflow::message::{BundleAdd, BundleControl, BundleCtrlType, Message};
use openflow::{Flow, FlowMod};

fn main() {
    let flow = Flow::parse("cookie=0x5, table=8, priority=50,reg14=0x1,metadata=0x1 actions=resubmit(,9)").unwrap();
    let fm: FlowMod = flow.to_flow_mod(openflow::message::FlowModCommand::Add);
    let msgs = [
        Message::hello(),
        Message::EchoRequest(vec![1, 2, 3]),
        Message::FeaturesRequest,
        Message::BarrierRequest,
        Message::BundleControl(BundleControl {
            bundle_id: 7,
            typ: BundleCtrlType::OpenRequest,
            flags: 1,
            properties: vec![],
        }),
        Message::BundleAdd(BundleAdd {
            bundle_id: 7,
            flags: 1,
            message: Box::new(Message::FlowMod(fm)),
            properties: vec![],
        }),
        Message::BundleControl(BundleControl {
            bundle_id: 7,
            typ: BundleCtrlType::CommitRequest,
            flags: 1,
            properties: vec![],
        }),
    ];
    for (i, m) in msgs.iter().enumerate() {
        let b = m.to_bytes(9 + i as u32);
        println!("{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    }
}
