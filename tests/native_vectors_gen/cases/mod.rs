//! Every case, in the order of their tcIds: the valid ones, then the
//! invalid ones by class (the two sides disagree; ServerHello, ClientProof
//! or ServerFinish changed in transit), then the forward-secrecy mode's
//! (valid; the settings or the mode byte; shares, tags and hostile peers;
//! low-order shares).

mod client_proof;
mod disagreement;
mod forward_secrecy;
mod server_finish;
mod server_hello;
mod valid;

use crate::model::Case;

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    valid::every_suite(&mut v);
    valid::edge_cases(&mut v);
    disagreement::cases(&mut v);
    server_hello::cases(&mut v);
    client_proof::cases(&mut v);
    server_finish::cases(&mut v);
    forward_secrecy::valid_cases(&mut v);
    forward_secrecy::mode_cases(&mut v);
    forward_secrecy::early_mode_cases(&mut v);
    forward_secrecy::message_cases(&mut v);
    forward_secrecy::low_order_cases(&mut v);
    v
}
