//! SQS message move tasks (dead-letter queue redrive): start, cancel, list, and the extra
//! permissions a start needs.
//!
//! # Layout
//! - [`start`], [`cancel`], [`list`]: one function per action; core errors convert with `?`
//!   through [`Failure`](super::shared::Failure).
//! - [`authorize_start`]: the permissions on the source and destination queues that a task's
//!   work needs, checked after the action's own (by `authorize` in `mod.rs`).

use std::sync::Arc;

use sluice_broker::queue::movetask::{MoveTask, TaskStatus};
use sluice_broker::queue::QueueKey;
use sluice_broker::Queues;
use sluice_protocols::sqs::types::*;
use sluice_protocols::sqs::{SqsError, SqsErrorCode, SqsResponse};

use super::shared::{positive, Result};
use crate::api::context::RequestContext;

pub fn start(queues: &Arc<Queues>, input: StartMessageMoveTaskInput) -> Result<SqsResponse> {
    let rate = input
        .max_number_of_messages_per_second
        .and_then(|r| u32::try_from(r).ok());
    let handle = queues.start_move_task(
        &input.source_arn,
        input.destination_arn.as_deref().filter(|d| !d.is_empty()),
        rate,
    )?;
    Ok(SqsResponse::StartMessageMoveTask(StartMessageMoveTaskOutput {
        task_handle: Some(handle),
    }))
}

pub fn cancel(queues: &Queues, input: CancelMessageMoveTaskInput) -> Result<SqsResponse> {
    let moved = queues.cancel_move_task(&input.task_handle)?;
    Ok(SqsResponse::CancelMessageMoveTask(CancelMessageMoveTaskOutput {
        approximate_number_of_messages_moved: Some(moved as i64),
    }))
}

pub fn list(queues: &Queues, input: ListMessageMoveTasksInput) -> Result<SqsResponse> {
    let tasks = queues.list_move_tasks(&input.source_arn, positive(input.max_results))?;
    let results = tasks.into_iter().map(move_task_entry).collect();
    Ok(SqsResponse::ListMessageMoveTasks(ListMessageMoveTasksOutput {
        results,
    }))
}

fn move_task_entry(task: MoveTask) -> ListMessageMoveTasksResultEntry {
    ListMessageMoveTasksResultEntry {
        task_handle: (task.status == TaskStatus::Running).then(|| task.handle()),
        status: Some(task.status.as_str().to_string()),
        source_arn: Some(task.source_arn),
        destination_arn: task.destination_arn,
        max_number_of_messages_per_second: task.max_per_second.map(|r| r as i32),
        approximate_number_of_messages_moved: Some(task.moved as i64),
        approximate_number_of_messages_to_move: Some(task.to_move as i64),
        failure_reason: task.failure_reason,
        started_timestamp: Some(task.started_ms as i64),
    }
}

/// A move task receives, deletes and inspects its source's messages and sends them on, so
/// AWS's StartMessageMoveTask also needs `sqs:ReceiveMessage`, `sqs:DeleteMessage` and
/// `sqs:GetQueueAttributes` on the source and `sqs:SendMessage` on the destination (SQS
/// developer guide, "Configure queue permissions for dead-letter queue redrive"). Without a
/// DestinationArn the messages go back to the queues they were dead-lettered from, which are
/// the queues whose RedrivePolicy names the source (same account and region), so the caller
/// needs `sqs:SendMessage` on each of them.
pub fn authorize_start(ctx: &RequestContext, queues: &Queues, input: &StartMessageMoveTaskInput) -> Result<()> {
    let denied = |message: String| SqsError::new(SqsErrorCode::AccessDenied, message);
    let source = input.source_arn.as_str();
    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
        ctx.authorize(action, source, || queues.policy_by_arn(source))
            .map_err(denied)?;
    }
    let destinations = match input.destination_arn.as_deref().filter(|d| !d.is_empty()) {
        Some(arn) => vec![arn.to_string()],
        None => redrive_sources(queues, source),
    };
    for destination in &destinations {
        ctx.authorize("sqs:SendMessage", destination, || queues.policy_by_arn(destination))
            .map_err(denied)?;
    }
    Ok(())
}

/// The ARNs of the queues whose RedrivePolicy targets the dead-letter queue `dlq_arn` (none when
/// it does not exist: the task's own checks refuse it then).
fn redrive_sources(queues: &Queues, dlq_arn: &str) -> Vec<String> {
    let Some(dlq) = QueueKey::from_arn(dlq_arn) else {
        return Vec::new();
    };
    let mut arns = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let Ok(page) = queues.dead_letter_sources(&dlq, Some(1000), next_token.as_deref()) else {
            return arns;
        };
        arns.extend(
            page.names
                .into_iter()
                .map(|name| QueueKey::new(dlq.account.as_str(), dlq.region.as_str(), name).arn()),
        );
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return arns,
        }
    }
}
