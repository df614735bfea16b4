//! Every case, in the order of their tcIds: the valid ones, then the
//! invalid ones by class (the two sides disagree; ServerHello, ClientProof
//! or ServerFinish changed in transit).

mod client_proof;
mod disagreement;
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
    v
}
