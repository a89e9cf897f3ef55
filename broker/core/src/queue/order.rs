//! A FIFO queue's send lock, and its commits applied in sequence order without holding that
//! lock while the log answers.
//!
//! A FIFO queue hands out sequences and checks deduplication ids under one lock, and its
//! messages must enter the index in sequence order: otherwise a receiver could take a group's
//! later message while an earlier one is not visible yet. In single-node mode a commit is a
//! local write and the lock could be held across it; in cluster mode a commit waits for a
//! replicated append, and holding the lock meant that no two sends to a queue ever shared an
//! append (issue 16: a FIFO queue sent at a quarter of a standard queue's rate).
//!
//! So a FIFO commit is staged under the lock, registered here ([`FifoSends::begin`]), and
//! submitted to the store, which fixes its place in the log (`Store::submit`); then the lock
//! is released for the wait. Afterwards its sender takes the lock again and reports the
//! outcome ([`FifoSends::finish`]), which hands back every finished commit at the front of
//! the line, up to the first one still waiting; the caller applies those to the index while
//! it holds the lock. Whoever wakes first, messages reach the index in sequence order.
//!
//! A deduplication id taken by a commit still in flight is found by [`FifoSends::in_flight_id`]
//! with that commit's ticket (committed ids are found on disk, `fifo::stored_original`): the
//! resend is answered like the original, but only once the original is known to be in (see
//! `InLine::settle` in `send`), since an answer naming a message that never committed would
//! tell the client a lost message was sent.
//!
//! # Invariants
//! - Tickets are handed out in sequence order (under the lock, with the sequences), and the
//!   line is in ticket order.
//! - An id in flight is in `in_flight_ids` under the ticket that took it until that commit
//!   leaves the line (by then, if it committed, its entry is on disk), or until its sender
//!   reports that it failed (safe: an outcome the log lost stops the store's writing).

use std::collections::{HashMap, VecDeque};

use super::fifo::{DedupEntry, DedupKey};
use super::index::MsgMeta;

/// One queue's part of one commit: the messages to index, and the deduplication ids they took.
#[derive(Debug, Default)]
pub(super) struct Staged {
    /// (sequence, index entry, message group) of each message, in sequence order.
    pub accepted: Vec<(u64, MsgMeta, Option<String>)>,
    /// Deduplication ids taken by these messages.
    pub fresh: Vec<(DedupKey, DedupEntry)>,
}

impl Staged {
    /// The sequences of the staged messages.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.accepted.iter().map(|(seq, _, _)| *seq)
    }
}

/// A commit in the line.
#[derive(Debug)]
struct InFlight {
    ticket: u64,
    staged: Staged,
    /// `Some(committed)` once its sender reported back.
    outcome: Option<bool>,
}

/// What the FIFO send lock guards: the commits in flight and the deduplication ids they took.
#[derive(Debug, Default)]
pub(super) struct FifoSends {
    line: VecDeque<InFlight>,
    next_ticket: u64,
    in_flight_ids: HashMap<DedupKey, (u64, DedupEntry)>,
}

impl FifoSends {
    /// The commit in flight that took deduplication id `key`, with its entry.
    pub fn in_flight_id(&self, key: &DedupKey) -> Option<(u64, DedupEntry)> {
        self.in_flight_ids.get(key).copied()
    }

    /// Puts a staged commit at the end of the line; its ticket goes to [`FifoSends::finish`].
    pub fn begin(&mut self, staged: Staged) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        for (key, entry) in &staged.fresh {
            self.in_flight_ids.insert(*key, (ticket, *entry));
        }
        self.line.push_back(InFlight {
            ticket,
            staged,
            outcome: None,
        });
        ticket
    }

    /// Records the outcome of `ticket`'s commit and takes every finished commit off the front
    /// of the line, with whether it committed, for the caller to apply in that order.
    pub fn finish(&mut self, ticket: u64, committed: bool) -> Vec<(Staged, bool)> {
        if let Some(entry) = self.line.iter_mut().find(|f| f.ticket == ticket) {
            entry.outcome = Some(committed);
            if !committed {
                // Nothing of a failed commit is on disk, and if the log's answer was lost (the
                // entry may be in the log after all) the store refuses every later commit: its
                // ids are free at once, not when it leaves the line. A retry (an SNS fan-out's, say, whose publish is retried as
                // soon as it failed) takes the id anew instead of being answered like a
                // message that does not exist.
                for (key, _) in &entry.staged.fresh {
                    if self.in_flight_ids.get(key).is_some_and(|(t, _)| *t == ticket) {
                        self.in_flight_ids.remove(key);
                    }
                }
            }
        }
        let mut ready = Vec::new();
        while let Some(committed) = self.line.front().and_then(|f| f.outcome) {
            let Some(done) = self.line.pop_front() else {
                break;
            };
            for (key, _) in &done.staged.fresh {
                if self.in_flight_ids.get(key).is_some_and(|(t, _)| *t == done.ticket) {
                    self.in_flight_ids.remove(key);
                }
            }
            ready.push((done.staged, committed));
        }
        ready
    }

    /// Whether `ticket`'s commit (a ticket this line handed out) is still in the line.
    pub fn in_flight(&self, ticket: u64) -> bool {
        // Commits leave only from the front, in ticket order.
        self.line.front().is_some_and(|f| f.ticket <= ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::fifo::dedup_key;

    fn staged(seq: u64, id: &str) -> Staged {
        Staged {
            accepted: vec![(seq, MsgMeta::new(0, 0), Some("g".into()))],
            fresh: vec![(
                dedup_key("", id),
                DedupEntry {
                    expires_ms: 1_000,
                    seq,
                    message_id: uuid::Uuid::new_v4(),
                },
            )],
        }
    }

    #[test]
    fn commits_leave_the_line_in_ticket_order() {
        let mut sends = FifoSends::default();
        let a = sends.begin(staged(1, "a"));
        let b = sends.begin(staged(2, "b"));
        let c = sends.begin(staged(3, "c"));
        // The last and the middle finish first: nothing may be applied before the first.
        assert!(sends.finish(c, true).is_empty());
        assert!(sends.finish(b, false).is_empty());
        assert!(sends.in_flight(b) && sends.in_flight(c));
        let ready: Vec<(Vec<u64>, bool)> = sends
            .finish(a, true)
            .into_iter()
            .map(|(s, ok)| (s.seqs().collect(), ok))
            .collect();
        assert_eq!(ready, vec![(vec![1], true), (vec![2], false), (vec![3], true)]);
        assert!(!sends.in_flight(a) && !sends.in_flight(b) && !sends.in_flight(c));
    }

    #[test]
    fn ids_in_flight_are_found_with_their_ticket_until_their_commit_leaves_the_line() {
        let mut sends = FifoSends::default();
        let a = sends.begin(staged(1, "a"));
        let b = sends.begin(staged(2, "b"));
        let key_a = dedup_key("", "a");
        let key_b = dedup_key("", "b");
        assert_eq!(sends.in_flight_id(&key_a).map(|(t, _)| t), Some(a));
        assert_eq!(sends.in_flight_id(&key_b).map(|(_, e)| e.seq), Some(2));
        sends.finish(b, false);
        assert_eq!(sends.in_flight_id(&key_b), None, "a failed commit's id is free at once");
        assert!(sends.in_flight(b), "though the commit stays behind a in the line");
        sends.finish(a, true);
        assert_eq!(sends.in_flight_id(&key_a), None);
        assert_eq!(sends.in_flight_id(&key_b), None);
        // An id taken again while an older commit of it is in the line keeps the newer ticket.
        let c = sends.begin(staged(3, "c"));
        let d = sends.begin(staged(4, "c"));
        sends.finish(c, true);
        assert_eq!(sends.in_flight_id(&dedup_key("", "c")).map(|(t, _)| t), Some(d));
    }
}
