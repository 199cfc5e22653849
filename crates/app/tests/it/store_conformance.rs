//! The store conformance suite: every `Store` method, called directly, on both backends.
//! The API tests cover the same code through HTTP; these pin the store's own contract
//! (ordering, not-found and conflict behaviour, versions, the audit trail).

use chrono::TimeDelta;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::from_ms;
use herald_domain::component::{
    ComponentInput, ComponentPatch, GroupInput, GroupPatch, NewComponent,
};
use herald_domain::id::{ComponentId, IncidentId, PageId};
use herald_domain::incident::{IncidentInput, IncidentKind, plan_create, plan_update};
use herald_domain::page::{NewPage, PagePatch};
use herald_domain::status::{ComponentStatus, IncidentStatus};
use herald_domain::template::{Template, TemplateInput};
use herald_domain::user::Role;
use herald_store::{IncidentOrder, IncidentQuery, Store, StoreError};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

const T0: i64 = 1_741_082_400_000;

fn new_component(name: &str) -> NewComponent {
    NewComponent::parse(&ComponentInput {
        name: Some(name.into()),
        ..Default::default()
    })
    .unwrap()
}

fn incident_input(v: serde_json::Value) -> IncidentInput {
    serde_json::from_value(v).unwrap()
}

async fn open(b: Backend) -> (TestDb, Store, Actor) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    (db, store, Actor::system("conformance"))
}

async fn schema_is_at_the_expected_version(b: Backend) {
    let (_db, store, _) = open(b).await;
    assert_eq!(
        store.schema_version().await.unwrap(),
        Store::expected_schema_version()
    );
    store.migrate().await.expect("migrating twice is a no-op");
    store.ping().await.unwrap();
}

async fn pages_are_created_found_updated_and_versioned(b: Backend) {
    let (_db, store, actor) = open(b).await;
    let p = store
        .create_page(
            &NewPage::parse("Acme", "acme", Some("Europe/Paris")).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert_eq!(p.zone.name(), "Europe/Paris");
    assert!(p.settings.allow_email_subscribers);
    let dup = store
        .create_page(
            &NewPage::parse("Other", "acme", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m.contains("slug")),
        "{dup:?}"
    );
    let mut hidden = NewPage::parse("Canary", "canary", None).unwrap();
    hidden.hidden = true;
    store
        .create_page(&hidden, &actor, from_ms(T0 + 1))
        .await
        .unwrap();
    assert_eq!(store.list_pages(false).await.unwrap().len(), 1);
    assert_eq!(store.list_pages(true).await.unwrap().len(), 2);
    assert_eq!(
        store.find_page_by_slug("acme").await.unwrap().unwrap().id,
        p.id
    );
    let patch: PagePatch =
        serde_json::from_value(json!({"domain": "status.acme.example", "headline": "Hi"})).unwrap();
    let q = store
        .update_page(&p.id, &actor, from_ms(T0 + 5), |cur| cur.apply(&patch))
        .await
        .unwrap();
    assert_eq!(q.version, p.version + 1);
    assert_eq!(q.updated_at, from_ms(T0 + 5));
    assert_eq!(
        store
            .find_page_by_domain("status.acme.example")
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    let bad: PagePatch = serde_json::from_value(json!({"time_zone": "Nowhere/Land"})).unwrap();
    assert!(matches!(
        store
            .update_page(&p.id, &actor, from_ms(T0), |c| c.apply(&bad))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.get_page(&p.id).await.unwrap().unwrap().version,
        q.version,
        "a failed update changes nothing"
    );
    assert!(matches!(
        store
            .update_page(
                &PageId::from("nope"),
                &actor,
                from_ms(T0),
                |c| Ok(c.clone())
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let versions = store.page_versions().await.unwrap();
    assert!(versions.contains(&(p.id.to_string(), q.version)));
    assert_eq!(store.page_version(&p.id).await.unwrap(), Some(q.version));
    assert_eq!(
        store.page_version(&PageId::from("nope")).await.unwrap(),
        None
    );
}

async fn components_and_groups_keep_order_status_and_scope(b: Backend) {
    let (_db, store, actor) = open(b).await;
    let p = store
        .create_page(
            &NewPage::parse("A", "a", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    let other = store
        .create_page(
            &NewPage::parse("B", "b", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    let a = store
        .create_component(&p.id, &new_component("A"), &actor, from_ms(T0))
        .await
        .unwrap();
    let c = store
        .create_component(&p.id, &new_component("C"), &actor, from_ms(T0))
        .await
        .unwrap();
    assert_eq!((a.position, c.position), (1, 2));
    let g = store
        .create_group(
            &p.id,
            &GroupInput::parse("G", None, vec![c.id.clone()]).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert!(g.is_group);
    let patch = ComponentPatch::status(ComponentStatus::MajorOutage);
    store
        .update_component(
            &p.id,
            &ComponentId::from(&c.id),
            &patch,
            &actor,
            from_ms(T0 + 1),
        )
        .await
        .unwrap();
    let list = store.list_components(&p.id).await.unwrap();
    let names: Vec<&str> = list.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["A", "G", "C"]);
    assert_eq!(
        list[1].status,
        ComponentStatus::MajorOutage,
        "group status derives from children"
    );
    assert_eq!(store.list_groups(&p.id).await.unwrap().len(), 1);
    assert!(
        store
            .get_component(&other.id, &ComponentId::from(&a.id))
            .await
            .unwrap()
            .is_none(),
        "components are per page"
    );
    assert!(matches!(
        store
            .update_component(
                &other.id,
                &ComponentId::from(&a.id),
                &patch,
                &actor,
                from_ms(T0)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .delete_component(&other.id, &ComponentId::from(&a.id), &actor, from_ms(T0))
            .await,
        Err(StoreError::NotFound)
    ));
    let gp = GroupPatch::parse(Some("G2"), None, Some(vec![a.id.clone()]), None).unwrap();
    let g2 = store
        .update_group(
            &p.id,
            &ComponentId::from(&g.id),
            &gp,
            &actor,
            from_ms(T0 + 2),
        )
        .await
        .unwrap();
    assert_eq!(g2.name, "G2");
    let after = store.list_components(&p.id).await.unwrap();
    assert_eq!(after.iter().find(|x| x.id == c.id).unwrap().group_id, None);
    assert_eq!(
        after
            .iter()
            .find(|x| x.id == a.id)
            .unwrap()
            .group_id
            .as_deref(),
        Some(g.id.as_str())
    );
    store
        .delete_component(&p.id, &ComponentId::from(&g.id), &actor, from_ms(T0 + 3))
        .await
        .unwrap();
    assert!(
        store
            .list_components(&p.id)
            .await
            .unwrap()
            .iter()
            .all(|x| x.group_id.is_none() && !x.is_group)
    );
}

async fn incidents_plan_inside_the_transaction_and_list_by_filter(b: Backend) {
    let (_db, store, actor) = open(b).await;
    let p = store
        .create_page(
            &NewPage::parse("A", "a", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    let api = store
        .create_component(&p.id, &new_component("API"), &actor, from_ms(T0))
        .await
        .unwrap();
    let t1 = from_ms(T0 + 1000);
    let input = incident_input(
        json!({"name": "Down", "body": "b", "components": {api.id.clone(): "major_outage"}}),
    );
    let i = store
        .create_incident(
            &p.id,
            &actor,
            t1,
            &input.named_components(),
            |pg, comps, t1| plan_create(&input, &pg.id, comps, t1, pg.zone),
        )
        .await
        .unwrap();
    assert_eq!(i.updates.len(), 1);
    assert_eq!(i.component_ids, std::slice::from_ref(&api.id));
    assert_eq!(
        store
            .get_component(&p.id, &ComponentId::from(&api.id))
            .await
            .unwrap()
            .unwrap()
            .status,
        ComponentStatus::MajorOutage
    );
    let t2 = t1 + TimeDelta::minutes(5);
    let up = incident_input(
        json!({"status": "resolved", "body": "ok", "components": {api.id.clone(): "operational"}}),
    );
    let i2 = store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t2,
            &up.named_components(),
            |pg, cur, comps, t2| plan_update(cur, &up, comps, t2, pg.zone),
        )
        .await
        .unwrap();
    assert_eq!(i2.status, IncidentStatus::Resolved);
    assert_eq!(i2.updates[0].body, "ok", "newest first");
    let m_in = incident_input(
        json!({"name": "M", "scheduled_for": "2099-01-01T00:00:00Z", "scheduled_until": "2099-01-01T01:00:00Z"}),
    );
    let m = store
        .create_incident(
            &p.id,
            &actor,
            t2,
            &m_in.named_components(),
            |pg, comps, t2| plan_create(&m_in, &pg.id, comps, t2, pg.zone),
        )
        .await
        .unwrap();
    assert_eq!(m.kind, IncidentKind::Maintenance);
    let q = |kind, statuses: Vec<IncidentStatus>| IncidentQuery {
        kind,
        statuses,
        ..IncidentQuery::default()
    };
    assert_eq!(
        store
            .list_incidents(&p.id, &q(None, vec![]))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list_incidents(&p.id, &q(Some(IncidentKind::Maintenance), vec![]))
            .await
            .unwrap()[0]
            .id,
        m.id
    );
    assert_eq!(
        store
            .list_incidents(&p.id, &q(None, vec![IncidentStatus::Resolved]))
            .await
            .unwrap()[0]
            .id,
        i.id
    );
    let soonest = IncidentQuery {
        order: IncidentOrder::SoonestScheduled,
        kind: Some(IncidentKind::Maintenance),
        ..IncidentQuery::default()
    };
    assert_eq!(
        store.list_incidents(&p.id, &soonest).await.unwrap().len(),
        1
    );
    let failing = store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t2,
            &[],
            |_, _, _, _| Err(herald_domain::Invalid::new("x", "no")),
        )
        .await;
    assert!(matches!(failing, Err(StoreError::Invalid(_))));
    let renamed = store
        .modify_incident(
            &p.id,
            &IncidentId::from(&i.id),
            "incident.rename",
            &actor,
            t2,
            |cur, _| {
                let mut c = cur.clone();
                c.name = "Renamed".into();
                Ok(c)
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(renamed.updates.len(), 2, "modifying keeps the timeline");
    let uid = renamed.updates[1].id.clone();
    let edited = store
        .update_incident_update(
            &p.id,
            &IncidentId::from(&i.id),
            &uid,
            &actor,
            t2,
            |_, u, _| {
                let mut u = u.clone();
                u.body = "edited".into();
                Ok(u)
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.body, "edited");
    let other = store
        .create_page(
            &NewPage::parse("B", "b", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert!(
        store
            .get_incident(&other.id, &IncidentId::from(&i.id))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .delete_incident(&other.id, &IncidentId::from(&i.id), &actor, t2)
            .await,
        Err(StoreError::NotFound)
    ));
    let gone = store
        .delete_incident(&p.id, &IncidentId::from(&i.id), &actor, t2)
        .await
        .unwrap();
    assert_eq!(gone.name, "Renamed");
    assert!(
        store
            .get_incident(&p.id, &IncidentId::from(&i.id))
            .await
            .unwrap()
            .is_none()
    );
}

async fn templates_keys_users_and_the_audit_log(b: Backend) {
    let (_db, store, actor) = open(b).await;
    let p = store
        .create_page(
            &NewPage::parse("A", "a", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    let ti: TemplateInput = serde_json::from_value(json!({"name": "T", "title": "Title"})).unwrap();
    let t = store
        .create_template(
            &Template::parse(&p.id, &ti, from_ms(T0)).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert_eq!(store.list_templates(&p.id).await.unwrap().len(), 1);
    store
        .delete_template(&p.id, &t.id, &actor, from_ms(T0))
        .await
        .unwrap();
    assert!(store.get_template(&p.id, &t.id).await.unwrap().is_none());

    let k = apikey::generate();
    let key = store
        .create_key(
            "ci",
            &k,
            true,
            Some(std::slice::from_ref(&p.id)),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert_eq!(key.page_ids.as_deref(), Some(&[p.id.clone()][..]));
    assert!(key.read_only);
    assert_eq!(
        store.find_key_by_hash(&k.hash).await.unwrap().unwrap().id,
        key.id
    );
    let bad = store
        .create_key(
            "x",
            &apikey::generate(),
            false,
            Some(&[PageId::from("nopage")]),
            &actor,
            from_ms(T0),
        )
        .await;
    assert!(bad.is_err());
    assert_eq!(
        store.list_keys().await.unwrap().len(),
        1,
        "a failed key leaves nothing behind"
    );
    let revoked = store
        .revoke_key(&key.id, &actor, from_ms(T0 + 1))
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(matches!(
        store.revoke_key(&key.id, &actor, from_ms(T0)).await,
        Err(StoreError::NotFound)
    ));

    let u = store
        .create_user(
            "Ops@Example.org",
            "$argon2id$x",
            Role::Owner,
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    assert_eq!(u.email, "ops@example.org");
    let (found, hash) = store
        .find_user_by_email("OPS@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, hash.as_str()), (u.id, "$argon2id$x"));
    assert!(matches!(
        store
            .create_user("ops@example.org", "h", Role::Viewer, &actor, from_ms(T0))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let log = store.list_audit(None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "page.create",
        "template.create",
        "template.delete",
        "api_key.create",
        "api_key.revoke",
        "user.create",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(log.iter().all(|e| e.actor_id == "conformance"));
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(
        store
            .list_audit(Some(&p.id), 100)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.page_id.as_deref() != Some(p.id.as_str()))
            .count(),
        0
    );
}

/// The page status a notification reports, computed as it was before `rollup_input`: from
/// every component and every open incident with its timeline.
async fn rollup_from_everything(store: &Store, page_id: &str) -> herald_domain::status::PageStatus {
    use herald_domain::status::{RollupInput, page_status};
    let components = store.list_components(&PageId::from(page_id)).await.unwrap();
    let open: Vec<_> = store
        .list_incidents(&PageId::from(page_id), &IncidentQuery::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.is_open())
        .collect();
    page_status(&RollupInput {
        components: components
            .iter()
            .filter(|c| !c.is_group)
            .map(|c| c.status)
            .collect(),
        open_incident_impacts: open
            .iter()
            .filter(|i| !i.status.is_maintenance())
            .map(|i| i.impact)
            .collect(),
        maintenance_in_progress: open.iter().any(|i| {
            matches!(
                i.status,
                IncidentStatus::InProgress | IncidentStatus::Verifying
            )
        }),
    })
}

async fn an_incident_write_reads_only_the_components_it_names(b: Backend) {
    use herald_domain::status::page_status;
    use std::sync::Mutex;
    // Arrange: a page of five components and a group
    let (_db, store, actor) = open(b).await;
    let t = |s: i64| from_ms(T0 + s * 1000);
    let p = store
        .create_page(&NewPage::parse("A", "a", None).unwrap(), &actor, t(0))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in ["API", "Web", "DNS", "CDN", "Mail"] {
        let c = store
            .create_component(&p.id, &new_component(n), &actor, t(0))
            .await
            .unwrap();
        ids.push(c.id);
    }
    let seen = Mutex::new(Vec::<Vec<String>>::new());
    let record = |comps: &[herald_domain::component::Component]| {
        let mut v: Vec<String> = comps.iter().map(|c| c.id.clone()).collect();
        v.sort();
        seen.lock().unwrap().push(v);
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Act: an incident naming one component; an update naming another; an update naming
    // none; a maintenance in progress; a request naming a component of nothing
    let open = incident_input(
        json!({"name": "Down", "body": "b", "components": {ids[0].clone(): "major_outage"}}),
    );
    let i = store
        .create_incident(
            &p.id,
            &actor,
            t(1),
            &open.named_components(),
            |pg, comps, at| {
                record(comps);
                plan_create(&open, &pg.id, comps, at, pg.zone)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rollup_from_everything(&store, p.id.as_str()).await,
        page_status(&store.rollup_input(&p.id).await.unwrap())
    );
    let more = incident_input(
        json!({"body": "also", "components": {ids[1].clone(): "degraded_performance"}}),
    );
    store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t(2),
            &more.named_components(),
            |pg, cur, comps, at| {
                record(comps);
                plan_update(cur, &more, comps, at, pg.zone)
            },
        )
        .await
        .unwrap();
    let plain = incident_input(json!({"body": "still on it"}));
    store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t(3),
            &plain.named_components(),
            |pg, cur, comps, at| {
                record(comps);
                plan_update(cur, &plain, comps, at, pg.zone)
            },
        )
        .await
        .unwrap();
    let m = incident_input(
        json!({"name": "M", "status": "in_progress", "scheduled_for": "2025-03-04T10:00:00Z", "scheduled_until": "2099-01-01T01:00:00Z", "components": {ids[2].clone(): "under_maintenance"}}),
    );
    store
        .create_incident(
            &p.id,
            &actor,
            t(4),
            &m.named_components(),
            |pg, comps, at| {
                record(comps);
                plan_create(&m, &pg.id, comps, at, pg.zone)
            },
        )
        .await
        .unwrap();
    let wrong = incident_input(json!({"body": "x", "components": {"nothing": "major_outage"}}));
    let refused = store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t(5),
            &wrong.named_components(),
            |pg, cur, comps, at| plan_update(cur, &wrong, comps, at, pg.zone),
        )
        .await;
    // Assert: each plan saw the components its request named and its incident's own, no
    // others; the unknown one is still refused; and the page status a notification reports,
    // read without timelines, is the one computed from everything
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen,
        vec![
            vec![ids[0].clone()],
            sorted(vec![ids[0].clone(), ids[1].clone()]),
            sorted(vec![ids[0].clone(), ids[1].clone()]),
            vec![ids[2].clone()],
        ]
    );
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let now = page_status(&store.rollup_input(&p.id).await.unwrap());
    assert_eq!(rollup_from_everything(&store, p.id.as_str()).await, now);
    assert_eq!(now.indicator, herald_domain::status::Impact::Critical);
    let resolve = incident_input(
        json!({"status": "resolved", "body": "ok", "components": {ids[0].clone(): "operational", ids[1].clone(): "operational"}}),
    );
    store
        .update_incident(
            &p.id,
            &IncidentId::from(&i.id),
            &actor,
            t(6),
            &resolve.named_components(),
            |pg, cur, comps, at| plan_update(cur, &resolve, comps, at, pg.zone),
        )
        .await
        .unwrap();
    let now = page_status(&store.rollup_input(&p.id).await.unwrap());
    assert_eq!(rollup_from_everything(&store, p.id.as_str()).await, now);
    assert_eq!(now.indicator, herald_domain::status::Impact::Maintenance);
}

both_backends!(
    an_incident_write_reads_only_the_components_it_names,
    schema_is_at_the_expected_version,
    pages_are_created_found_updated_and_versioned,
    components_and_groups_keep_order_status_and_scope,
    incidents_plan_inside_the_transaction_and_list_by_filter,
    templates_keys_users_and_the_audit_log,
);
