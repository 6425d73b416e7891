//! What the engine hands new messages to once their transaction commits: a [`Sender`] defined
//! here and implemented by the delivery worker, so the engine never reaches into the worker.
//!
//! A message to a webhook that is neither ordered nor rate-limited is claimed for the sender in
//! the transaction that writes it (written `delivering` under the sender's lease) when the
//! sender has room for it, and handed over once the transaction commits: it is sent without a
//! claim round, one write less per message at the database's single writer. The rest are
//! written pending and claimed as usual. If the process dies before sending a handed-over
//! message, its lease expires and another claim takes it.

use crate::store::{now_ms, DbRow};
use std::collections::HashMap;
use std::sync::Arc;

/// A message its committed transaction claimed for the sender.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: i64,
    pub msg_id: String,
    pub app_id: i64,
    pub webhook_id: String,
    pub payload: String,
}

/// Room the sender keeps for one message until it has sent it; what it holds is the sender's.
pub type Room = Box<dyn std::any::Any + Send>;

/// Where committed messages go to be sent at once (the delivery worker).
pub trait Sender: Send + Sync {
    /// Room for one new message to this webhook, taken now, inside the transaction that writes
    /// it; `None` when there is none and the message is written pending.
    fn reserve(&self, webhook_id: &str) -> Option<Room>;
    /// Until when a message taken now stays claimed (it is written with this lease).
    fn lease_until(&self) -> i64;
    /// After the commit: sends these messages, each within the room taken for it.
    fn send(&self, messages: Vec<(NewMessage, Room)>);
    /// Gives back the room of a message that was not written.
    fn release(&self, webhook_id: &str, room: Room);
}

/// The messages one transaction takes for the sender.
pub struct Handoff {
    sender: Option<Arc<dyn Sender>>,
    lease_until: i64,
    taken: Vec<(NewMessage, Room)>,
}

impl Handoff {
    /// Takes messages for `sender` while it has room.
    pub fn to(sender: &Arc<dyn Sender>) -> Self {
        Self {
            lease_until: sender.lease_until(),
            sender: Some(sender.clone()),
            taken: Vec::new(),
        }
    }

    /// Takes nothing: every message is written pending.
    pub fn none() -> Self {
        Self {
            sender: None,
            lease_until: now_ms(),
            taken: Vec::new(),
        }
    }

    /// Takes this new message if the sender has room for it, and says until when it is then
    /// claimed (the message must be written with that lease, returning its `id` and `msg_id`).
    pub fn take(
        &mut self,
        msg_id: &str,
        app_id: i64,
        webhook_id: &str,
        payload: &str,
    ) -> Option<i64> {
        let room = self.sender.as_ref()?.reserve(webhook_id)?;
        self.taken.push((
            NewMessage {
                id: 0,
                msg_id: msg_id.to_string(),
                app_id,
                webhook_id: webhook_id.to_string(),
                payload: payload.to_string(),
            },
            room,
        ));
        Some(self.lease_until)
    }

    /// After the commit: hands the sender every taken message among these rows (`id`,
    /// `msg_id`, as the inserts returned them). A taken message that was not written (its
    /// booking was refused) gives its room back.
    pub fn committed(mut self, rows: &[DbRow]) {
        use sqlx::Row;
        let Some(sender) = self.sender.clone() else {
            return;
        };
        if self.taken.is_empty() {
            return;
        }
        let ids: HashMap<String, i64> = rows
            .iter()
            .filter_map(|r| Some((r.try_get("msg_id").ok()?, r.try_get("id").ok()?)))
            .collect();
        let mut written = Vec::with_capacity(self.taken.len());
        for (mut m, room) in std::mem::take(&mut self.taken) {
            match ids.get(&m.msg_id) {
                Some(&id) => {
                    m.id = id;
                    written.push((m, room));
                }
                None => sender.release(&m.webhook_id, room),
            }
        }
        if !written.is_empty() {
            sender.send(written);
        }
    }
}

impl Drop for Handoff {
    /// Not committed: the room taken is given back.
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            for (m, room) in self.taken.drain(..) {
                sender.release(&m.webhook_id, room);
            }
        }
    }
}
