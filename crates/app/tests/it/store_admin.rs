//! Store methods the admin UI added (conformance on both backends): moving a component or
//! group one place among its siblings, and editing a template.

use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::component::{ComponentInput, GroupInput, NewComponent, display_order};
use herald_domain::id::{ComponentId, PageId, SubscriberId};
use herald_domain::notification::DeliveryState;
use herald_domain::page::NewPage;
use herald_domain::subscriber::Channel;
use herald_domain::template::{Template, TemplateInput};
use herald_store::{DeliveryRecord, Store, StoreError};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

const T0: i64 = 1_741_082_400_000;

async fn open(b: Backend) -> (TestDb, Store, Actor, String) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let actor = Actor::system("conformance");
    let page = store
        .create_page(
            &NewPage::parse("P", "pg", None).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    (db, store, actor, page.id.to_string())
}

async fn component(store: &Store, page: &str, name: &str, actor: &Actor) -> String {
    let new = NewComponent::parse(&ComponentInput {
        name: Some(name.into()),
        ..Default::default()
    })
    .unwrap();
    store
        .create_component(&PageId::from(page), &new, actor, from_ms(T0))
        .await
        .unwrap()
        .id
}

/// Names in display order (each group followed by its children).
async fn order(store: &Store, page: &str) -> Vec<String> {
    let all = store.list_components(&PageId::from(page)).await.unwrap();
    display_order(&all).iter().map(|c| c.name.clone()).collect()
}

async fn admin_store_moves_components_among_their_siblings(b: Backend) {
    // Arrange: A, G(x, y), B
    let (_db, store, actor, page) = open(b).await;
    let a = component(&store, &page, "A", &actor).await;
    let x = component(&store, &page, "x", &actor).await;
    let y = component(&store, &page, "y", &actor).await;
    component(&store, &page, "B", &actor).await;
    let g = store
        .create_group(
            &PageId::from(&page),
            &GroupInput::parse("G", None, vec![x.clone(), y.clone()]).unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap()
        .id;
    let audit = |s: &Store| {
        let s = s.clone();
        async move { s.list_audit(None, 1000).await.unwrap().len() }
    };
    assert_eq!(order(&store, &page).await, ["A", "G", "x", "y", "B"]);
    let n = audit(&store).await;
    // Act + Assert: a group moves with its children; a child moves inside its group
    store
        .move_component(
            &PageId::from(&page),
            &ComponentId::from(&g),
            true,
            &actor,
            from_ms(T0 + 1),
        )
        .await
        .unwrap();
    assert_eq!(order(&store, &page).await, ["G", "x", "y", "A", "B"]);
    store
        .move_component(
            &PageId::from(&page),
            &ComponentId::from(&y),
            true,
            &actor,
            from_ms(T0 + 2),
        )
        .await
        .unwrap();
    assert_eq!(order(&store, &page).await, ["G", "y", "x", "A", "B"]);
    store
        .move_component(
            &PageId::from(&page),
            &ComponentId::from(&a),
            false,
            &actor,
            from_ms(T0 + 3),
        )
        .await
        .unwrap();
    assert_eq!(order(&store, &page).await, ["G", "y", "x", "B", "A"]);
    let entries = store.list_audit(None, 3).await.unwrap();
    assert_eq!(audit(&store).await, n + 3, "one entry per move");
    assert!(entries.iter().any(|e| e.action == "component_group.move"));
    assert!(entries.iter().any(|e| e.action == "component.move"));
    // the first cannot go up, the last cannot go down: nothing written
    store
        .move_component(
            &PageId::from(&page),
            &ComponentId::from(&g),
            true,
            &actor,
            from_ms(T0 + 4),
        )
        .await
        .unwrap();
    store
        .move_component(
            &PageId::from(&page),
            &ComponentId::from(&a),
            false,
            &actor,
            from_ms(T0 + 5),
        )
        .await
        .unwrap();
    assert_eq!(order(&store, &page).await, ["G", "y", "x", "B", "A"]);
    assert_eq!(audit(&store).await, n + 3);
    assert!(matches!(
        store
            .move_component(
                &PageId::from(&page),
                &ComponentId::from("nope"),
                true,
                &actor,
                from_ms(T0 + 6)
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn admin_store_updates_templates_in_one_audited_write(b: Backend) {
    // Arrange
    let (_db, store, actor, page) = open(b).await;
    let c = component(&store, &page, "API", &actor).await;
    let input = |name: &str, ids: Vec<String>| TemplateInput {
        name: Some(name.into()),
        title: Some("Title".into()),
        body: Some("Body".into()),
        component_ids: Some(ids),
        ..Default::default()
    };
    let t = store
        .create_template(
            &Template::parse(
                &PageId::from(&page),
                &input("Old", vec![c.clone()]),
                from_ms(T0),
            )
            .unwrap(),
            &actor,
            from_ms(T0),
        )
        .await
        .unwrap();
    let n = store.list_audit(None, 1000).await.unwrap().len();
    // Act
    let mut changed = Template::parse(
        &PageId::from(&page),
        &input("New", vec![c]),
        from_ms(T0 + 1),
    )
    .unwrap();
    changed.id.clone_from(&t.id);
    let got = store
        .update_template(&changed, &actor, from_ms(T0 + 1))
        .await
        .unwrap();
    let mut bad = changed.clone();
    bad.component_ids = vec!["zzz".into()];
    let refused = store.update_template(&bad, &actor, from_ms(T0 + 2)).await;
    let mut unknown = changed.clone();
    unknown.id = "nope".into();
    let missing = store
        .update_template(&unknown, &actor, from_ms(T0 + 2))
        .await;
    // Assert
    assert_eq!(got.name, "New");
    assert_eq!(got.created_at, t.created_at);
    assert_eq!(got.updated_at, from_ms(T0 + 1));
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let audit = store.list_audit(None, 1000).await.unwrap();
    assert_eq!(audit.len(), n + 1);
    assert_eq!(audit[0].action, "template.update");
    assert_eq!(
        store
            .get_template(&PageId::from(&page), &t.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "New"
    );
}

async fn admin_store_lists_one_subscribers_deliveries_however_old(b: Backend) {
    // Arrange: one subscriber's two deliveries, then 300 newer ones to another subscriber
    // (more than a screen's worth), and one to the same subscriber id on another page
    let (_db, store, _actor, page) = open(b).await;
    let record = |id: String, sub: &'static str, page: String, at: i64| {
        let sub = SubscriberId::from(sub);
        let store = store.clone();
        async move {
            let d = DeliveryRecord {
                id: &id,
                event_id: "ev",
                subscriber_id: &sub,
                page_id: &PageId::from(&page),
                channel: Channel::Webhook,
                state: DeliveryState::Delivered,
                attempt: 1,
                status: Some(200),
                error: None,
            };
            store.record_delivery(&d, from_ms(at)).await.unwrap();
        }
    };
    record("old-1".into(), "alice", page.clone(), T0).await;
    record("old-2".into(), "alice", page.clone(), T0 + 1).await;
    for i in 0..300 {
        record(format!("bob-{i}"), "bob", page.clone(), T0 + 10 + i).await;
    }
    record("elsewhere".into(), "alice", "other-page".into(), T0 + 1000).await;
    // Act
    let alice = store
        .list_deliveries(&PageId::from(&page), Some(&"alice".into()), 200)
        .await
        .unwrap();
    let newest = store
        .list_deliveries(&PageId::from(&page), None, 200)
        .await
        .unwrap();
    // Assert
    let ids: Vec<&str> = alice.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        ["old-2", "old-1"],
        "only hers, on this page, newest first"
    );
    assert_eq!(newest.len(), 200);
    assert!(newest.iter().all(|d| d.subscriber_id == "bob"));
}

async fn admin_store_refuses_a_delivery_row_whose_state_or_channel_it_does_not_know(b: Backend) {
    // Arrange: a logged delivery, then its state and another's channel changed behind
    // herald's back to values no build writes
    let (db, store, _actor, page) = open(b).await;
    let alice = SubscriberId::from("alice");
    for id in ["d-state", "d-channel"] {
        let d = DeliveryRecord {
            id,
            event_id: "ev",
            subscriber_id: &alice,
            page_id: &PageId::from(&page),
            channel: Channel::Email,
            state: DeliveryState::Failed,
            attempt: 1,
            status: None,
            error: Some("timed out".into()),
        };
        store.record_delivery(&d, from_ms(T0)).await.unwrap();
    }
    assert_eq!(
        store
            .list_deliveries(&PageId::from(&page), None, 10)
            .await
            .unwrap()[0]
            .state,
        DeliveryState::Failed
    );
    // Act
    db.execute("UPDATE deliveries SET state = 'exploded' WHERE id = 'd-state'")
        .await;
    let state = store
        .list_deliveries(&PageId::from(&page), Some(&alice), 10)
        .await;
    db.execute("UPDATE deliveries SET state = 'failed' WHERE id = 'd-state'")
        .await;
    db.execute("UPDATE deliveries SET channel = 'pigeon' WHERE id = 'd-channel'")
        .await;
    let channel = store.list_deliveries(&PageId::from(&page), None, 10).await;
    // Assert: an error naming the row and the value, never a silent default
    for (got, value) in [(state, "exploded"), (channel, "pigeon")] {
        match got {
            Err(StoreError::Internal(m)) => assert!(m.contains(value), "{m}"),
            other => panic!("{value}: {other:?}"),
        }
    }
}

both_backends!(
    admin_store_moves_components_among_their_siblings,
    admin_store_updates_templates_in_one_audited_write,
    admin_store_lists_one_subscribers_deliveries_however_old,
    admin_store_refuses_a_delivery_row_whose_state_or_channel_it_does_not_know,
);
