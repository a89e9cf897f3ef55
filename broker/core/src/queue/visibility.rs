//! What a consumer does with a received message: DeleteMessage(Batch) and
//! ChangeMessageVisibility(Batch), addressed by receipt handle.
//!
//! # Invariants
//! - One commit for every valid entry of a call; an invalid handle fails its own entry.
//! - A handle acts only for the receive that issued it (queue id, sequence and nonce match); an
//!   older handle deletes nothing and changes no visibility.
//! - The index changes under the queue's lock and the commit follows outside it: a crash before
//!   the commit only brings a message back (at-least-once), never loses one.

use sluice_storage::Cf;

use super::error::{QueueError, Result};
use super::message::{message_key, StoredState};
use super::receipt::Receipt;
use super::{QueueKey, Queues, VisibilityChange, MAX_VISIBILITY_MS};

impl Queues {
    /// DeleteMessage(Batch): one commit for every valid handle.
    pub fn delete_messages(&self, key: &QueueKey, handles: &[String]) -> Result<Vec<Result<()>>> {
        let queue = self.lookup(key)?;
        let mut results = Vec::with_capacity(handles.len());
        let mut batch = self.store.batch();
        let mut removed = 0;
        {
            let mut index = queue.index();
            for handle in handles {
                let Some(receipt) = Receipt::decode(handle).filter(|r| r.queue_id == queue.id) else {
                    results.push(Err(invalid_receipt(handle)));
                    continue;
                };
                // A handle of an already deleted message, or an older handle of a message
                // received again since, succeeds without deleting (SQS developer guide).
                if index.get(receipt.seq).is_some_and(|m| m.nonce == receipt.nonce) {
                    index.remove(receipt.seq);
                    removed += 1;
                    let key = message_key(queue.id, receipt.seq);
                    batch.delete(Cf::QueueMsgs, &key);
                    batch.delete(Cf::QueueState, &key);
                }
                results.push(Ok(()));
            }
        }
        self.store.commit(batch)?;
        queue.traffic.count_deleted(removed);
        if queue.fifo {
            // A delete can unlock the message's group for a waiting consumer.
            queue.notify.notify_waiters();
        }
        Ok(results)
    }

    /// ChangeMessageVisibility(Batch): one commit for every valid change.
    pub fn change_visibility(&self, key: &QueueKey, changes: &[VisibilityChange]) -> Result<Vec<Result<()>>> {
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        let mut results = Vec::with_capacity(changes.len());
        let mut batch = self.store.batch();
        let mut made_visible = false;
        {
            let mut index = queue.index();
            for change in changes {
                let handle = &change.receipt_handle;
                let Some(receipt) = Receipt::decode(handle).filter(|r| r.queue_id == queue.id) else {
                    results.push(Err(invalid_receipt(handle)));
                    continue;
                };
                let Some(mut meta) = index.get(receipt.seq).copied().filter(|m| m.nonce == receipt.nonce) else {
                    results.push(Err(not_available(handle)));
                    continue;
                };
                if meta.visible_at_ms <= now {
                    results.push(Err(QueueError::MessageNotInflight));
                    continue;
                }
                let timeout_ms = change.timeout_seconds as u64 * 1000;
                if change.timeout_seconds > 43_200 || now + timeout_ms > meta.last_receive_ms + MAX_VISIBILITY_MS {
                    results.push(Err(QueueError::InvalidParameterValue(format!(
                        "Value {} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
                        change.timeout_seconds
                    ))));
                    continue;
                }
                meta.visible_at_ms = now + timeout_ms;
                made_visible |= timeout_ms == 0;
                index.update(receipt.seq, meta, now);
                batch.put(
                    Cf::QueueState,
                    &message_key(queue.id, receipt.seq),
                    &StoredState::from_meta(&meta).encode(),
                );
                results.push(Ok(()));
            }
        }
        self.store.commit(batch)?;
        if made_visible {
            queue.notify.notify_waiters();
        }
        Ok(results)
    }
}

fn invalid_receipt(handle: &str) -> QueueError {
    QueueError::ReceiptHandleIsInvalid(handle.to_string())
}

fn not_available(handle: &str) -> QueueError {
    QueueError::InvalidParameterValue(format!(
        "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
    ))
}
