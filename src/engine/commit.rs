//! Group commit of new bookings: API calls that arrive while a transaction is being written
//! wait for the next one and share it. Each call still answers only after its booking, log
//! and outbox rows are committed; what the calls share is the transaction's begin and commit,
//! the reads of their resource and webhooks, and on SQLite the one hand-off of all their
//! writes to the database's thread. The single writer is held once per group instead of once
//! per call.

use super::bookings::{create_booking_handing, prepare_booking, Actor, NewBooking, ReadCache};
use super::error::EngineError;
use super::handoff::{Handoff, Sender};
use crate::domain::booking::BookingOut;
use crate::metrics::Metrics;
use crate::store::{bookings as sb, AppRow, Batch, Db, WriteTx};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most bookings one transaction creates.
const MAX_GROUP: usize = 256;

struct Job {
    app: AppRow,
    nb: NewBooking,
    actor: Actor,
    reply: oneshot::Sender<Result<BookingOut, EngineError>>,
}

/// Creates bookings in shared transactions. Cloning it shares the same writer task.
#[derive(Clone)]
pub struct Committer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Committer {
    /// Starts the writer task on this database; it ends when every `Committer` is dropped.
    /// New messages go straight to `sender` while it has room (see [`Handoff`]).
    pub fn start(db: Db, metrics: Arc<Metrics>, sender: Option<Arc<dyn Sender>>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        crate::store::spawn_writer(&db.clone(), run(db, metrics, sender, rx));
        Self { jobs }
    }

    /// Creates a booking, as [`create_booking`] does, in the next group's transaction.
    pub async fn create_booking(
        &self,
        app: &AppRow,
        nb: NewBooking,
        actor: &Actor,
    ) -> Result<BookingOut, EngineError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            app: app.clone(),
            nb,
            actor: actor.clone(),
            reply,
        };
        // The writer task is gone only when the database is closing.
        self.jobs.send(job).map_err(|_| EngineError::Unavailable)?;
        answer.await.map_err(|_| EngineError::Unavailable)?
    }
}

async fn run(
    db: Db,
    metrics: Arc<Metrics>,
    sender: Option<Arc<dyn Sender>>,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let handoff = || sender.as_ref().map_or_else(Handoff::none, Handoff::to);
    let alone = |j: Job| {
        let (db, metrics) = (&db, &metrics);
        let handoff = handoff();
        async move {
            let out = create_booking_handing(db, handoff, &j.app, j.nb, &j.actor).await;
            metrics.bookings_committed(out.is_ok() as usize);
            let _ = j.reply.send(out);
        }
    };
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    // Wait for a call, then for the writer: calls that arrive meanwhile join the group.
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let tx = sb::begin_write(&db).await;
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let group = std::mem::take(&mut jobs);
        let result = match tx {
            Ok(tx) => commit_group(tx, handoff(), &group).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(outs) => {
                metrics.bookings_committed(outs.iter().filter(|o| o.is_ok()).count());
                for (j, out) in group.into_iter().zip(outs) {
                    let _ = j.reply.send(out);
                }
            }
            Err(EngineError::Unavailable) => {
                // Nothing of the group was written, and one by one would only make each call
                // wait its turn to fail: every call hears at once to try again later.
                for j in group {
                    let _ = j.reply.send(Err(EngineError::Unavailable));
                }
            }
            Err(e) => {
                // Nothing of the group was written. Each booking gets its own transaction, so
                // a database error reaches only the calls it belongs to.
                tracing::warn!(error = %e, bookings = group.len(), "a group commit failed; creating its bookings one by one");
                for j in group {
                    alone(j).await;
                }
            }
        }
    }
}

/// One transaction for the whole group: each booking is checked and its writes gathered; a
/// refused booking adds nothing. A database error rolls back everything.
async fn commit_group(
    mut tx: WriteTx,
    mut handoff: Handoff,
    group: &[Job],
) -> Result<Vec<Result<BookingOut, EngineError>>, EngineError> {
    let mut cache = ReadCache::default();
    let mut batch = Batch::default();
    let mut outs = Vec::with_capacity(group.len());
    let mut failed = None;
    // The ids of the messages handed to the worker, as their inserts return them.
    let mut rows = Vec::new();
    for j in group {
        if j.nb.owner_booking_id.is_some() {
            // A seat reads its group and the seats taken, which earlier bookings of this
            // group may have written.
            match std::mem::take(&mut batch)
                .merge_inserts()
                .run_rows(&mut tx)
                .await
            {
                Ok(r) => rows.extend(r),
                Err(e) => {
                    failed = Some(e.into());
                    break;
                }
            }
        }
        match prepare_booking(&mut tx, &mut cache, &mut handoff, &j.app, &j.nb, &j.actor).await {
            Ok((writes, out)) => {
                batch.append(writes);
                outs.push(Ok(out));
            }
            Err(e @ (EngineError::Db(_) | EngineError::Unavailable)) => {
                failed = Some(e);
                break;
            }
            Err(refused) => outs.push(Err(refused)),
        }
    }
    if let Some(e) = failed {
        let _ = tx.rollback().await;
        return Err(e);
    }
    rows.extend(tx.commit_with(batch.merge_inserts()).await?);

    handoff.committed(&rows);
    Ok(outs)
}
