//! Reconcilers, driven with a fake clock: scheduled maintenance starts and completes on
//! time, moves its components and back, and queues its reminder exactly once.

use chrono::TimeDelta;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::component::{ComponentInput, NewComponent};
use herald_domain::id::{ComponentId, IncidentId};
use herald_domain::incident::{IncidentInput, plan_create};
use herald_domain::notification::EventKind;
use herald_domain::page::NewPage;
use herald_domain::status::{ComponentStatus, IncidentStatus};
use herald_store::JobState;
use herald_worker::Reconciler;
use herald_worker::reconcilers::{Maintenance, PruneJobs};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

const T: i64 = 1_760_000_000_000;

async fn scheduled_maintenance_runs_itself_on_time(b: Backend) {
    // Arrange: a maintenance from T+2h to T+4h on the database, with every automation on.
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let actor = Actor::cli();
    let t = |minutes: i64| from_ms(T) + TimeDelta::minutes(minutes);
    let page = store
        .create_page(&NewPage::parse("A", "a", None).unwrap(), &actor, t(0))
        .await
        .unwrap();
    let c = ComponentInput {
        name: Some("Database".into()),
        ..Default::default()
    };
    let dbc = store
        .create_component(&page.id, &NewComponent::parse(&c).unwrap(), &actor, t(0))
        .await
        .unwrap();
    let input: IncidentInput = serde_json::from_value(json!({
        "name": "Database upgrade", "status": "scheduled",
        "scheduled_for": t(120).to_rfc3339(), "scheduled_until": t(240).to_rfc3339(),
        "scheduled_remind_prior": true, "scheduled_auto_in_progress": true, "scheduled_auto_completed": true,
        "auto_transition_to_maintenance_state": true, "auto_transition_to_operational_state": true,
        "component_ids": [dbc.id],
    }))
    .unwrap();
    let m = store
        .create_incident(
            &page.id,
            &actor,
            t(0),
            &input.named_components(),
            |p, comps, now| plan_create(&input, &p.id, comps, now, p.zone),
        )
        .await
        .unwrap();
    let r = Maintenance {
        store: store.clone(),
    };
    let status = || async {
        let i = store
            .get_incident(&page.id, &IncidentId::from(&m.id))
            .await
            .unwrap()
            .unwrap();
        let c = store
            .get_component(&page.id, &ComponentId::from(&dbc.id))
            .await
            .unwrap()
            .unwrap();
        (i.status, c.status)
    };
    // A reminder is a notification event, fanned out by a queued `notify.fanout` job.
    let reminders = || async {
        let mut n = 0;
        for j in store.list_jobs(JobState::Available, 100).await.unwrap() {
            if j.kind != "notify.fanout" {
                continue;
            }
            let id = j.payload["event_id"].as_str().unwrap();
            let e = store.get_event(id).await.unwrap().unwrap();
            n += usize::from(e.kind == EventKind::MaintenanceReminder);
        }
        n
    };
    // Act and assert, as time passes.
    r.reconcile(t(30)).await.unwrap();
    assert_eq!(
        status().await,
        (IncidentStatus::Scheduled, ComponentStatus::Operational)
    );
    assert_eq!(reminders().await, 0, "too early for the reminder");
    r.reconcile(t(65)).await.unwrap();
    assert_eq!(reminders().await, 1, "reminded an hour before");
    r.reconcile(t(70)).await.unwrap();
    assert_eq!(reminders().await, 1, "reminded once");
    r.reconcile(t(120)).await.unwrap();
    assert_eq!(
        status().await,
        (
            IncidentStatus::InProgress,
            ComponentStatus::UnderMaintenance
        )
    );
    r.reconcile(t(180)).await.unwrap();
    assert_eq!(
        status().await,
        (
            IncidentStatus::InProgress,
            ComponentStatus::UnderMaintenance
        )
    );
    r.reconcile(t(241)).await.unwrap();
    assert_eq!(
        status().await,
        (IncidentStatus::Completed, ComponentStatus::Operational)
    );
    r.reconcile(t(300)).await.unwrap();
    let i = store
        .get_incident(&page.id, &IncidentId::from(&m.id))
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<&str> = i.updates.iter().map(|u| u.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "Scheduled maintenance has been completed.",
            "Scheduled maintenance is now in progress.",
            ""
        ]
    );
    let audit = store.list_audit(Some(&page.id), 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor_id == "maintenance" && e.action == "incident.post_update")
    );
}

async fn pruning_removes_old_finished_jobs_only(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let t0 = from_ms(T);
    let spec = herald_store::kinds::CANARY;
    store
        .enqueue(
            &[spec.raw_job(None, json!({})), spec.raw_job(None, json!({}))],
            t0,
        )
        .await
        .unwrap();
    let claimed = store.claim_jobs("system", "w", 1, t0).await.unwrap();
    store
        .finish_jobs(
            &[herald_store::Finish {
                id: claimed[0].id,
                attempt: 1,
                outcome: herald_store::Outcome::Completed,
            }],
            t0,
        )
        .await
        .unwrap();
    PruneJobs {
        store: store.clone(),
    }
    .reconcile(t0 + TimeDelta::hours(2))
    .await
    .unwrap();
    assert_eq!(
        store
            .list_jobs(JobState::Completed, 10)
            .await
            .unwrap()
            .len(),
        1,
        "kept for a day"
    );
    PruneJobs {
        store: store.clone(),
    }
    .reconcile(t0 + TimeDelta::days(2))
    .await
    .unwrap();
    assert_eq!(
        store
            .list_jobs(JobState::Completed, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .list_jobs(JobState::Available, 10)
            .await
            .unwrap()
            .len(),
        1,
        "unfinished jobs stay"
    );
}

both_backends!(
    scheduled_maintenance_runs_itself_on_time,
    pruning_removes_old_finished_jobs_only
);
