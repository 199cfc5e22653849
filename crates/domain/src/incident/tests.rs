use super::*;
use crate::clock::from_ms;
use ComponentStatus as S;

fn comp(id: &str, status: S) -> Component {
    Component {
        id: id.into(),
        page_id: "page".into(),
        group_id: None,
        is_group: false,
        name: format!("{id} name"),
        description: None,
        status,
        position: 0,
        showcase: true,
        only_show_if_degraded: false,
        start_date: None,
        created_at: from_ms(0),
        updated_at: from_ms(0),
    }
}

fn input(json: &str) -> IncidentInput {
    serde_json::from_str(json).unwrap()
}

const NOW: i64 = 1_741_082_400_000;

fn create(json: &str, comps: &[Component]) -> Result<IncidentChange> {
    plan_create(
        &input(json),
        &PageId::from("page"),
        comps,
        from_ms(NOW),
        PageZone::UTC,
    )
}

#[test]
fn a_new_incident_starts_investigating_with_its_first_update() {
    let c = create(r#"{"name": "API errors", "body": "Looking into it"}"#, &[]).unwrap();
    assert_eq!(c.incident.status, IncidentStatus::Investigating);
    assert_eq!(c.incident.kind, IncidentKind::Realtime);
    assert_eq!(c.incident.impact, Impact::None);
    let u = c.new_update.unwrap();
    assert_eq!(u.body, "Looking into it");
    assert_eq!(u.status, IncidentStatus::Investigating);
    assert!(u.deliver_notifications);
    assert_eq!(u.affected_components, None);
}

#[test]
fn name_is_required_and_bounded() {
    assert_eq!(create("{}", &[]).unwrap_err().field, "incident.name");
    let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(256));
    assert!(
        create(&long, &[])
            .unwrap_err()
            .message
            .contains("256 characters")
    );
    let body = format!(r#"{{"name": "n", "body": "{}"}}"#, "x".repeat(25_001));
    assert_eq!(create(&body, &[]).unwrap_err().field, "incident.body");
}

#[test]
fn component_statuses_set_the_impact_and_are_recorded_on_the_update() {
    let comps = [comp("aaa", S::Operational), comp("bbb", S::Operational)];
    let c = create(
        r#"{"name": "n", "components": {"aaa": "partial_outage", "bbb": "degraded_performance"}}"#,
        &comps,
    )
    .unwrap();
    assert_eq!(c.incident.impact, Impact::Major);
    assert_eq!(c.incident.component_ids, ["aaa", "bbb"]);
    let affected = c.new_update.unwrap().affected_components.unwrap();
    assert_eq!(affected[0].old_status, S::Operational);
    assert_eq!(affected[0].new_status, S::PartialOutage);
    assert_eq!(affected[0].name, "aaa name");
    assert_eq!(c.component_changes.len(), 2);
}

#[test]
fn impact_override_wins() {
    let comps = [comp("aaa", S::Operational)];
    let c = create(r#"{"name": "n", "impact_override": "critical", "components": {"aaa": "degraded_performance"}}"#, &comps).unwrap();
    assert_eq!(c.incident.impact, Impact::Critical);
}

#[test]
fn unknown_components_and_groups_are_rejected() {
    let mut g = comp("ggg", S::Operational);
    g.is_group = true;
    let e = create(
        r#"{"name": "n", "components": {"zzz": "major_outage"}}"#,
        &[g.clone()],
    )
    .unwrap_err();
    assert!(e.message.contains("no component \"zzz\""), "{}", e.message);
    let e = create(r#"{"name": "n", "component_ids": ["ggg"]}"#, &[g]).unwrap_err();
    assert!(e.message.contains("group"), "{}", e.message);
}

#[test]
fn a_maintenance_needs_a_window_that_ends_after_it_starts() {
    let e = create(r#"{"name": "m", "status": "scheduled"}"#, &[]).unwrap_err();
    assert_eq!(e.field, "incident.scheduled_for");
    let e = create(
        r#"{"name": "m", "scheduled_for": "2025-03-10T04:00:00Z", "scheduled_until": "2025-03-10T02:00:00Z"}"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.field, "incident.scheduled_until");
    let c = create(
        r#"{"name": "m", "scheduled_for": "2025-03-10T02:00:00Z", "scheduled_until": "2025-03-10T04:00:00Z", "scheduled_auto_transition": true}"#,
        &[],
    )
    .unwrap();
    assert_eq!(c.incident.status, IncidentStatus::Scheduled);
    assert_eq!(c.incident.kind, IncidentKind::Maintenance);
    assert_eq!(c.incident.impact, Impact::Maintenance);
    assert!(
        c.incident.flags.auto_in_progress,
        "scheduled_auto_transition is an alias"
    );
}

#[test]
fn a_realtime_incident_cannot_have_a_window() {
    let e = create(
        r#"{"name": "n", "status": "investigating", "scheduled_for": "2025-03-10T02:00:00Z"}"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.field, "incident.scheduled_for");
}

#[test]
fn backfilled_incidents_are_resolved_and_dated() {
    let c = create(
        r#"{"name": "old", "backfilled": true, "backfill_date": "2025-01-02"}"#,
        &[],
    )
    .unwrap();
    assert_eq!(c.incident.status, IncidentStatus::Resolved);
    assert_eq!(
        PageZone::UTC.format(c.incident.created_at),
        "2025-01-02T00:00:00.000Z"
    );
    assert_eq!(c.incident.resolved_at, Some(c.incident.created_at));
    let e = create(r#"{"name": "old", "backfilled": true}"#, &[]).unwrap_err();
    assert_eq!(e.field, "incident.backfill_date");
    let e = create(
        r#"{"name": "old", "backfilled": true, "backfill_date": "2999-01-01"}"#,
        &[],
    )
    .unwrap_err();
    assert!(e.message.contains("future"));
}

#[test]
fn metadata_values_must_be_objects() {
    assert!(create(r#"{"name": "n", "metadata": {"jira": {"id": 1}}}"#, &[]).is_ok());
    assert_eq!(
        create(r#"{"name": "n", "metadata": {"jira": 1}}"#, &[])
            .unwrap_err()
            .field,
        "incident.metadata"
    );
    assert_eq!(
        create(r#"{"name": "n", "metadata": [1]}"#, &[])
            .unwrap_err()
            .field,
        "incident.metadata"
    );
}

fn created(json: &str, comps: &[Component]) -> Incident {
    let c = create(json, comps).unwrap();
    let mut i = c.incident;
    i.updates = vec![c.new_update.unwrap()];
    i
}

#[test]
fn posting_a_status_appends_an_update_and_stamps_times() {
    let i = created(r#"{"name": "n"}"#, &[]);
    let later = from_ms(NOW + 60_000);
    let c = plan_update(
        &i,
        &input(r#"{"status": "monitoring", "body": "Fixed"}"#),
        &[],
        later,
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(c.incident.status, IncidentStatus::Monitoring);
    assert_eq!(c.incident.monitoring_at, Some(later));
    assert_eq!(c.new_update.as_ref().unwrap().body, "Fixed");
    let c2 = plan_update(
        &c.incident,
        &input(r#"{"status": "resolved"}"#),
        &[],
        later,
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(c2.incident.resolved_at, Some(later));
    assert!(!c2.incident.is_open());
    let reopened = plan_update(
        &c2.incident,
        &input(r#"{"status": "investigating"}"#),
        &[],
        later,
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(
        reopened.incident.resolved_at, None,
        "reopening clears resolved_at"
    );
}

#[test]
fn renaming_posts_no_update() {
    let i = created(r#"{"name": "n"}"#, &[]);
    let c = plan_update(
        &i,
        &input(r#"{"name": "better name"}"#),
        &[],
        from_ms(NOW),
        PageZone::UTC,
    )
    .unwrap();
    assert!(c.new_update.is_none());
    assert_eq!(c.incident.name, "better name");
}

#[test]
fn an_incident_cannot_take_a_maintenance_status_or_the_reverse() {
    let i = created(r#"{"name": "n"}"#, &[]);
    let e = plan_update(
        &i,
        &input(r#"{"status": "in_progress"}"#),
        &[],
        from_ms(NOW),
        PageZone::UTC,
    )
    .unwrap_err();
    assert_eq!(e.field, "incident.status");
    let m = created(
        r#"{"name": "m", "scheduled_for": "2025-03-10T02:00:00Z", "scheduled_until": "2025-03-10T04:00:00Z"}"#,
        &[],
    );
    assert!(
        plan_update(
            &m,
            &input(r#"{"status": "resolved"}"#),
            &[],
            from_ms(NOW),
            PageZone::UTC
        )
        .is_err()
    );
    assert!(
        plan_update(
            &m,
            &input(r#"{"status": "in_progress"}"#),
            &[],
            from_ms(NOW),
            PageZone::UTC
        )
        .is_ok()
    );
}

#[test]
fn impact_keeps_the_worst_seen() {
    let comps = [comp("aaa", S::Operational)];
    let i = created(
        r#"{"name": "n", "components": {"aaa": "major_outage"}}"#,
        &comps,
    );
    assert_eq!(i.impact, Impact::Critical);
    let comps = [comp("aaa", S::MajorOutage)];
    let c = plan_update(
        &i,
        &input(r#"{"components": {"aaa": "degraded_performance"}}"#),
        &comps,
        from_ms(NOW),
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(c.incident.impact, Impact::Critical);
    assert_eq!(
        c.new_update.unwrap().affected_components.unwrap()[0].old_status,
        S::MajorOutage
    );
}

#[test]
fn postmortems_publish_only_on_resolved_incidents() {
    let i = created(r#"{"name": "n"}"#, &[]);
    let draft = save_postmortem_draft(
        &i.postmortem,
        &PostmortemInput {
            body_draft: Some("What happened".into()),
            ..Default::default()
        },
        from_ms(NOW),
    )
    .unwrap();
    let mut i = Incident {
        postmortem: draft,
        ..i
    };
    assert!(publish_postmortem(&i, &PostmortemInput::default(), from_ms(NOW)).is_err());
    i.status = IncidentStatus::Resolved;
    let p = publish_postmortem(
        &i,
        &PostmortemInput {
            notify_subscribers: Some(true),
            ..Default::default()
        },
        from_ms(NOW),
    )
    .unwrap();
    assert_eq!(p.status, IncidentStatus::Postmortem);
    assert_eq!(p.postmortem.body.as_deref(), Some("What happened"));
    assert!(p.postmortem.notify_subscribers);
    let r = revert_postmortem(&p, from_ms(NOW)).unwrap();
    assert_eq!(r.status, IncidentStatus::Resolved);
    assert_eq!(r.postmortem.published_at, None);
    assert_eq!(r.postmortem.body_draft.as_deref(), Some("What happened"));
}

#[test]
fn editing_an_update_changes_its_display_time() {
    let i = created(r#"{"name": "n", "body": "a"}"#, &[]);
    let u = edit_update(
        &i.updates[0],
        &IncidentUpdateInput {
            display_at: Some("2025-03-04T09:00:00Z".into()),
            body: Some("b".into()),
            ..Default::default()
        },
        from_ms(NOW),
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(u.body, "b");
    assert_eq!(
        PageZone::UTC.format(u.display_at),
        "2025-03-04T09:00:00.000Z"
    );
}

#[test]
fn maintenance_automation_starts_and_completes_on_time() {
    let comps = [comp("db0", S::Operational)];
    let m = created(
        r#"{"name": "m", "scheduled_for": "2025-03-10T02:00:00Z", "scheduled_until": "2025-03-10T04:00:00Z",
            "scheduled_auto_in_progress": true, "scheduled_auto_completed": true,
            "auto_transition_to_maintenance_state": true, "auto_transition_to_operational_state": true,
            "component_ids": ["db0"]}"#,
        &comps,
    );
    let at = |s: &str| PageZone::UTC.parse_datetime("t", s).unwrap();
    assert!(
        auto_transition(&m, at("2025-03-10T01:59:59Z")).is_none(),
        "not before the window"
    );
    let start = auto_transition(&m, at("2025-03-10T02:00:00Z")).unwrap();
    let c = plan_update(
        &m,
        &start,
        &comps,
        at("2025-03-10T02:00:00Z"),
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(c.incident.status, IncidentStatus::InProgress);
    assert_eq!(
        c.component_changes,
        [("db0".to_owned(), S::UnderMaintenance)]
    );
    assert!(
        !c.new_update.unwrap().deliver_notifications,
        "notifications follow the at-start flag"
    );
    assert!(
        auto_transition(&c.incident, at("2025-03-10T03:00:00Z")).is_none(),
        "nothing to do mid-window"
    );
    let end = auto_transition(&c.incident, at("2025-03-10T04:00:01Z")).unwrap();
    let comps = [comp("db0", S::UnderMaintenance)];
    let c = plan_update(
        &c.incident,
        &end,
        &comps,
        at("2025-03-10T04:00:01Z"),
        PageZone::UTC,
    )
    .unwrap();
    assert_eq!(c.incident.status, IncidentStatus::Completed);
    assert_eq!(c.component_changes, [("db0".to_owned(), S::Operational)]);
    assert!(
        auto_transition(&c.incident, at("2025-03-11T00:00:00Z")).is_none(),
        "completed stays completed"
    );
}

#[test]
fn maintenance_without_automation_is_left_alone() {
    let m = created(
        r#"{"name": "m", "scheduled_for": "2025-03-10T02:00:00Z", "scheduled_until": "2025-03-10T04:00:00Z"}"#,
        &[],
    );
    let at = PageZone::UTC
        .parse_datetime("t", "2025-03-11T00:00:00Z")
        .unwrap();
    assert!(auto_transition(&m, at).is_none());
    let i = created(r#"{"name": "i"}"#, &[]);
    assert!(auto_transition(&i, at).is_none());
}
