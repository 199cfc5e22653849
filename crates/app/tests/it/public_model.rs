//! Proof of sameness for incremental snapshots (issue 17): random sequences of writes
//! (incidents created, updated, resolved, backdated, deleted, postmortems, component status
//! changes, renames, moves and deletes, groups, maintenance windows, page settings, writes
//! that change nothing public, time passing across days) run against the real store on both
//! backends. Two publishers follow the page as two nodes would: one refreshes after every
//! write, the other only now and then, so it applies several versions' changes at once.
//! After every step, every output of each incremental snapshot — the ready ones and every
//! rarely read one, served from the cache filled at earlier steps where it is still there —
//! must be byte-identical to a full render of the page read afresh from the database at the
//! same moment.

use chrono::{TimeDelta, TimeZone, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, ManualClock};
use herald_domain::component::{ComponentInput, ComponentPatch, GroupInput, NewComponent};
use herald_domain::id::{ComponentId, IncidentId, PageId};
use herald_domain::incident::{
    IncidentInput, PostmortemInput, plan_create, plan_update, publish_postmortem,
    save_postmortem_draft,
};
use herald_domain::page::{NewPage, PagePatch};
use herald_domain::template::{Template, TemplateInput};
use herald_store::Store;
use herald_web::public::Publisher;
use herald_web::public::cold::ColdKey;
use herald_web::public::model::Model;
use herald_web::public::render::{Assets, Source, cold_keys, render_cold, render_hot};
use herald_web::public::snapshot::{PageSnapshot, Snapshots};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::helpers::{Backend, TestDb};

const BASE: &str = "http://status.test";

#[derive(Debug, Clone)]
enum Op {
    /// Several updates in a row to one incident: long timelines are cut into runs.
    Burst {
        pick: u8,
        n: u8,
    },
    Open {
        comp: u8,
        status: u8,
        backfill_days: Option<u8>,
    },
    Post {
        pick: u8,
        status: u8,
        comp: Option<(u8, u8)>,
    },
    Backdate {
        pick: u8,
        minutes: u16,
    },
    Delete {
        pick: u8,
    },
    Postmortem {
        pick: u8,
    },
    ComponentStatus {
        comp: u8,
        status: u8,
    },
    AddComponent {
        grouped: bool,
    },
    Rename {
        comp: u8,
    },
    Move {
        comp: u8,
        up: bool,
    },
    DeleteComponent {
        comp: u8,
    },
    Group,
    Maintenance {
        in_hours: u8,
    },
    Settings {
        n: u8,
    },
    Template,
    Advance {
        minutes: u16,
    },
    CatchUp,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), 0u8..4, proptest::option::weighted(0.3, 1u8..120))
            .prop_map(|(comp, status, backfill_days)| Op::Open { comp, status, backfill_days }),
        5 => (any::<u8>(), 0u8..4, proptest::option::of((any::<u8>(), 0u8..4)))
            .prop_map(|(pick, status, comp)| Op::Post { pick, status, comp }),
        1 => (any::<u8>(), 1u8..12).prop_map(|(pick, n)| Op::Burst { pick, n }),
        2 => (any::<u8>(), 1u16..3000).prop_map(|(pick, minutes)| Op::Backdate { pick, minutes }),
        1 => any::<u8>().prop_map(|pick| Op::Delete { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Postmortem { pick }),
        3 => (any::<u8>(), 0u8..5).prop_map(|(comp, status)| Op::ComponentStatus { comp, status }),
        1 => any::<bool>().prop_map(|grouped| Op::AddComponent { grouped }),
        1 => any::<u8>().prop_map(|comp| Op::Rename { comp }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(comp, up)| Op::Move { comp, up }),
        1 => any::<u8>().prop_map(|comp| Op::DeleteComponent { comp }),
        1 => Just(Op::Group),
        1 => (1u8..48).prop_map(|in_hours| Op::Maintenance { in_hours }),
        1 => any::<u8>().prop_map(|n| Op::Settings { n }),
        1 => Just(Op::Template),
        3 => (1u16..2000).prop_map(|minutes| Op::Advance { minutes }),
        1 => Just(Op::CatchUp),
    ]
}

const COMPONENT_STATUSES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INCIDENT_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

struct World {
    store: Store,
    clock: Arc<ManualClock>,
    page: String,
    actor: Actor,
    assets: Arc<Assets>,
    /// Refreshes after every write.
    eager: Arc<Publisher>,
    /// Refreshes only on `CatchUp` and time ticks: applies several versions at once.
    lazy: Arc<Publisher>,
}

fn publisher(store: &Store, clock: &Arc<ManualClock>, assets: &Arc<Assets>) -> Arc<Publisher> {
    Arc::new(Publisher::new(
        store.clone(),
        clock.clone(),
        BASE.to_owned(),
        Default::default(),
        Arc::new(Snapshots::new(None)),
        assets.clone(),
        // Small: evictions happen, and must not change what is served.
        256 << 10,
    ))
}

fn input(v: serde_json::Value) -> IncidentInput {
    serde_json::from_value(v).unwrap()
}

impl World {
    fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    async fn components(&self) -> Vec<herald_domain::component::Component> {
        self.store
            .list_components(&PageId::from(&self.page))
            .await
            .unwrap()
            .into_iter()
            .filter(|c| !c.is_group)
            .collect()
    }

    async fn incident(&self, pick: u8) -> Option<herald_domain::incident::Incident> {
        let all = self
            .store
            .list_incidents(&PageId::from(&self.page), &Default::default())
            .await
            .unwrap();
        (!all.is_empty()).then(|| all[pick as usize % all.len()].clone())
    }

    async fn component(&self, comp: u8) -> Option<String> {
        let all = self.components().await;
        (!all.is_empty()).then(|| all[comp as usize % all.len()].id.clone())
    }

    /// Applies `op`; a write the domain refuses (a resolved incident posted to, say) is fine:
    /// it changes nothing, which is also what the snapshots must show.
    async fn apply(&self, op: &Op) {
        let (s, p, a, now) = (&self.store, self.page.as_str(), &self.actor, self.now());
        match op {
            Op::Open {
                comp,
                status,
                backfill_days,
            } => {
                let Some(c) = self.component(*comp).await else {
                    return;
                };
                let mut v = json!({"name": format!("Trouble {}", now.timestamp_millis()),
                    "status": "investigating", "body": "Looking <b>into</b> it.",
                    "components": {&c: COMPONENT_STATUSES[1 + *status as usize % 3]}});
                if let Some(d) = backfill_days {
                    v = json!({"name": "Old trouble", "status": "resolved", "backfilled": true,
                        "backfill_date": (now - TimeDelta::days(i64::from(*d))).date_naive().to_string(),
                        "body": "It happened.", "component_ids": [c]});
                }
                let i = input(v);
                let _ = s
                    .create_incident(
                        &PageId::from(p),
                        a,
                        now,
                        &i.named_components(),
                        |pg, comps, at| plan_create(&i, &pg.id, comps, at, pg.zone),
                    )
                    .await;
            }
            Op::Post { pick, status, comp } => {
                let Some(inc) = self.incident(*pick).await else {
                    return;
                };
                let mut v = json!({"status": INCIDENT_STATUSES[*status as usize], "body": format!("Update at {now}")});
                if let Some((c, st)) = comp
                    && let Some(c) = self.component(*c).await
                {
                    v["components"] = json!({&c: COMPONENT_STATUSES[*st as usize % 4]});
                }
                let i = input(v);
                let _ = s
                    .update_incident(
                        &PageId::from(p),
                        &IncidentId::from(&inc.id),
                        a,
                        now,
                        &i.named_components(),
                        |pg, cur, comps, at| plan_update(cur, &i, comps, at, pg.zone),
                    )
                    .await;
            }
            Op::Burst { pick, n } => {
                let Some(inc) = self.incident(*pick).await else {
                    return;
                };
                for k in 0..*n {
                    let i = input(
                        json!({"status": INCIDENT_STATUSES[usize::from(k % 3)], "body": format!("Burst {k} at {now}")}),
                    );
                    let _ = s
                        .update_incident(
                            &PageId::from(p),
                            &IncidentId::from(&inc.id),
                            a,
                            now,
                            &i.named_components(),
                            |pg, cur, comps, at| plan_update(cur, &i, comps, at, pg.zone),
                        )
                        .await;
                }
            }
            Op::Backdate { pick, minutes } => {
                // Half the time the longest timeline (cut into runs), any of its updates;
                // sometimes only the body changes.
                let all = self
                    .store
                    .list_incidents(&PageId::from(&self.page), &Default::default())
                    .await
                    .unwrap();
                let inc = if pick % 2 == 0 {
                    all.iter().max_by_key(|i| i.updates.len())
                } else {
                    all.get(*pick as usize % all.len().max(1))
                };
                let Some(inc) = inc else { return };
                let Some(u) = inc
                    .updates
                    .get(*minutes as usize % inc.updates.len().max(1))
                else {
                    return;
                };
                let back = TimeDelta::minutes(i64::from(*minutes) * i64::from(pick % 3 != 0));
                let _ = s
                    .update_incident_update(
                        &PageId::from(p),
                        &IncidentId::from(&inc.id),
                        &u.id,
                        a,
                        now,
                        |_, cur, _| {
                            let mut n = cur.clone();
                            n.display_at = cur.display_at - back;
                            n.body = format!("{} (edited)", cur.body);
                            Ok(n)
                        },
                    )
                    .await;
            }
            Op::Delete { pick } => {
                if let Some(inc) = self.incident(*pick).await {
                    s.delete_incident(&PageId::from(p), &IncidentId::from(&inc.id), a, now)
                        .await
                        .unwrap();
                }
            }
            Op::Postmortem { pick } => {
                let Some(inc) = self.incident(*pick).await else {
                    return;
                };
                let draft = PostmortemInput {
                    body_draft: Some("## What happened\n\nA *thing*.".into()),
                    ..PostmortemInput::default()
                };
                let _ = s
                    .modify_incident(
                        &PageId::from(p),
                        &IncidentId::from(&inc.id),
                        "postmortem.publish",
                        a,
                        now,
                        |i, at| {
                            let mut i = i.clone();
                            i.postmortem = save_postmortem_draft(&i.postmortem, &draft, at)?;
                            publish_postmortem(&i, &PostmortemInput::default(), at)
                        },
                    )
                    .await;
            }
            Op::ComponentStatus { comp, status } => {
                let Some(c) = self.component(*comp).await else {
                    return;
                };
                let patch = ComponentPatch {
                    status: Some(COMPONENT_STATUSES[*status as usize].parse().unwrap()),
                    ..ComponentPatch::default()
                };
                s.update_component(&PageId::from(p), &ComponentId::from(&c), &patch, a, now)
                    .await
                    .unwrap();
            }
            Op::AddComponent { grouped } => {
                let groups: Vec<String> = s
                    .list_groups(&PageId::from(p))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|g| g.id)
                    .collect();
                let mut v = json!({"name": format!("Service {}", now.timestamp_millis()),
                    "start_date": (now - TimeDelta::days(40)).date_naive().to_string()});
                if *grouped && let Some(g) = groups.first() {
                    v["group_id"] = json!(g);
                }
                let c: ComponentInput = serde_json::from_value(v).unwrap();
                s.create_component(&PageId::from(p), &NewComponent::parse(&c).unwrap(), a, now)
                    .await
                    .unwrap();
            }
            Op::Rename { comp } => {
                let Some(c) = self.component(*comp).await else {
                    return;
                };
                let patch = ComponentPatch {
                    name: Some(format!("Renamed {}", now.timestamp_millis())),
                    ..ComponentPatch::default()
                };
                s.update_component(&PageId::from(p), &ComponentId::from(&c), &patch, a, now)
                    .await
                    .unwrap();
            }
            Op::Move { comp, up } => {
                let Some(c) = self.component(*comp).await else {
                    return;
                };
                let _ = s
                    .move_component(&PageId::from(p), &ComponentId::from(&c), *up, a, now)
                    .await;
            }
            Op::DeleteComponent { comp } => {
                // Keep two, so that incidents have something to name.
                if self.components().await.len() > 2
                    && let Some(c) = self.component(*comp).await
                {
                    s.delete_component(&PageId::from(p), &ComponentId::from(&c), a, now)
                        .await
                        .unwrap();
                }
            }
            Op::Group => {
                let top: Vec<String> = self
                    .components()
                    .await
                    .into_iter()
                    .filter(|c| c.group_id.is_none())
                    .map(|c| c.id)
                    .take(2)
                    .collect();
                if !top.is_empty() {
                    let g =
                        GroupInput::parse(&format!("Group {}", now.timestamp_millis()), None, top)
                            .unwrap();
                    s.create_group(&PageId::from(p), &g, a, now).await.unwrap();
                }
            }
            Op::Maintenance { in_hours } => {
                let Some(c) = self.component(*in_hours).await else {
                    return;
                };
                let start = now + TimeDelta::hours(i64::from(*in_hours));
                let i = input(json!({"name": "Upgrade", "status": "scheduled",
                    "scheduled_for": start.to_rfc3339(),
                    "scheduled_until": (start + TimeDelta::hours(2)).to_rfc3339(),
                    "body": "We upgrade things.", "component_ids": [c]}));
                let m = s
                    .create_incident(
                        &PageId::from(p),
                        a,
                        now,
                        &i.named_components(),
                        |pg, comps, at| plan_create(&i, &pg.id, comps, at, pg.zone),
                    )
                    .await
                    .unwrap();
                // Sometimes it starts at once (its window moved up by hand).
                if in_hours % 3 == 0 {
                    let go = input(json!({"status": "in_progress", "body": "Started.",
                        "components": {&c: "under_maintenance"}}));
                    let _ = s
                        .update_incident(
                            &PageId::from(p),
                            &IncidentId::from(&m.id),
                            a,
                            now,
                            &go.named_components(),
                            |pg, cur, comps, at| plan_update(cur, &go, comps, at, pg.zone),
                        )
                        .await;
                }
            }
            Op::Settings { n } => {
                let patch: PagePatch = serde_json::from_value(json!({
                    "name": format!("Acme {n}"),
                    "headline": if n % 2 == 0 { json!("All about Acme") } else { json!(null) },
                    "allow_rss_atom_feeds": n % 5 != 0,
                }))
                .unwrap();
                s.update_page(&PageId::from(p), a, now, |pg| pg.apply(&patch))
                    .await
                    .unwrap();
            }
            Op::Template => {
                let t: TemplateInput = serde_json::from_value(json!({"name": format!("T {}", now.timestamp_millis()),
                    "title": "Trouble", "body": "We look into it.", "update_status": "investigating"}))
                .unwrap();
                s.create_template(&Template::parse(&PageId::from(p), &t, now).unwrap(), a, now)
                    .await
                    .unwrap();
            }
            Op::Advance { minutes } => self.clock.advance(TimeDelta::minutes(i64::from(*minutes))),
            Op::CatchUp => {}
        }
    }
}

/// Every output of `snap`, served as a request would get it: `(name, status, body)`.
fn served(snap: &PageSnapshot, keys: &BTreeSet<String>) -> Vec<(String, u16, Vec<u8>)> {
    let mut out: Vec<(String, u16, Vec<u8>)> = snap
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), o.status.as_u16(), o.identity().body.to_vec()))
        .collect();
    out.push((
        "404".into(),
        snap.not_found.status.as_u16(),
        snap.not_found.identity().body.to_vec(),
    ));
    for k in keys {
        let o = snap.cold_output(&key(k));
        out.push((
            k.clone(),
            o.as_ref().map_or(0, |o| o.status.as_u16()),
            o.map(|o| o.identity().body.to_vec()).unwrap_or_default(),
        ));
    }
    out.sort();
    out
}

fn name(k: &ColdKey) -> String {
    match k {
        ColdKey::Incident(id) => format!("incident:{id}"),
        ColdKey::History(n) => format!("history:{n}"),
        ColdKey::Uptime(n) => format!("uptime:{n}"),
        ColdKey::Chart(id, p, json) => format!("chart:{id}/{}/{json}", p.as_str()),
    }
}

fn key(name: &str) -> ColdKey {
    let (kind, rest) = name.split_once(':').unwrap();
    match kind {
        "incident" => ColdKey::Incident(rest.to_owned()),
        "history" => ColdKey::History(rest.parse().unwrap()),
        _ => ColdKey::Uptime(rest.parse().unwrap()),
    }
}

/// The outputs of a full render of the page read afresh from the database.
async fn fresh(w: &World, keys: &BTreeSet<String>) -> Vec<(String, u16, Vec<u8>)> {
    let model = Model::load(&w.store, &w.page, w.now())
        .await
        .unwrap()
        .unwrap();
    let src = Source::new(&model, w.now(), BASE, Default::default());
    let hot = render_hot(&src, None, &w.assets, &Default::default());
    let mut out: Vec<(String, u16, Vec<u8>)> = hot
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), o.status.as_u16(), o.identity().body.to_vec()))
        .collect();
    out.push((
        "404".into(),
        hot.not_found.status.as_u16(),
        hot.not_found.identity().body.to_vec(),
    ));
    for k in keys {
        let o = render_cold(&src, &key(k));
        out.push((
            k.clone(),
            o.as_ref().map_or(0, |o| o.status.as_u16()),
            o.map(|o| o.identity().body.to_vec()).unwrap_or_default(),
        ));
    }
    out.sort();
    out
}

fn diff(a: &[(String, u16, Vec<u8>)], b: &[(String, u16, Vec<u8>)]) -> Vec<String> {
    let names: BTreeSet<&String> = a.iter().chain(b).map(|x| &x.0).collect();
    names
        .into_iter()
        .filter(|n| a.iter().find(|x| &x.0 == *n) != b.iter().find(|x| &x.0 == *n))
        .cloned()
        .collect()
}

async fn check(w: &World, p: &Arc<Publisher>, who: &str, step: usize, op: &Op) {
    let snap = p.snapshots().get(&w.page).expect("a snapshot");
    let model = Model::load(&w.store, &w.page, w.now())
        .await
        .unwrap()
        .unwrap();
    let src = Source::new(&model, w.now(), BASE, Default::default());
    // Every rarely read output either side has, and two that nobody has.
    let mut keys: BTreeSet<String> = cold_keys(&src)
        .iter()
        .chain(&cold_keys(&snap.source))
        .map(name)
        .collect();
    keys.insert("incident:nosuchincident".into());
    keys.insert("history:99".into());
    let (incremental, full) = (served(&snap, &keys), fresh(w, &keys).await);
    assert_eq!(
        snap.version,
        model.version(),
        "{who}: version after step {step} ({op:?})"
    );
    let differ = diff(&incremental, &full);
    assert!(
        differ.is_empty(),
        "{who}: after step {step} ({op:?}) these outputs differ from a full render: {differ:?}"
    );
}

async fn run(backend: Backend, ops: Vec<Op>) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // 23:00 UTC: a few steps of time pass midnight.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 30, 23, 0, 0).unwrap(),
    ));
    let actor = Actor::system("model-test");
    let page = store
        .create_page(
            &NewPage::parse("Acme", "acme", Some("Europe/Berlin")).unwrap(),
            &actor,
            clock.now() - TimeDelta::days(200),
        )
        .await
        .unwrap();
    let assets = Arc::new(Assets::new());
    let w = World {
        eager: publisher(&store, &clock, &assets),
        lazy: publisher(&store, &clock, &assets),
        store,
        clock,
        page: page.id.to_string(),
        actor,
        assets,
    };
    for _ in 0..3 {
        w.apply(&Op::AddComponent { grouped: false }).await;
    }
    w.apply(&Op::Group).await;
    for p in [&w.eager, &w.lazy] {
        p.refresh(&w.page).await.unwrap();
    }
    for (step, op) in ops.iter().enumerate() {
        w.apply(op).await;
        let time = matches!(op, Op::Advance { .. });
        if time {
            w.eager.tick(&w.page).await.unwrap();
        } else {
            w.eager.refresh(&w.page).await.unwrap();
        }
        check(&w, &w.eager, "node refreshed at every write", step, op).await;
        if time || matches!(op, Op::CatchUp) {
            // Time passing re-renders (a tick) and catches up with every write since.
            if time {
                w.lazy.tick(&w.page).await.unwrap();
            } else {
                w.lazy.refresh(&w.page).await.unwrap();
            }
            check(&w, &w.lazy, "node catching up now and then", step, op).await;
        }
    }
    w.store.close().await;
}

fn run_model(backend: Backend, ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(backend, ops));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn incremental_snapshots_match_a_full_render_on_sqlite(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(Backend::Sqlite, ops);
    }

    #[test]
    fn incremental_snapshots_match_a_full_render_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(Backend::Postgres, ops);
    }
}
