//! Driving the admin UI like a browser without JavaScript: a cookie, form posts, the CSRF
//! token read from the page.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::{Resp, TestApp, read};

pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a user with `PASSWORD`.
pub async fn user(app: &TestApp, email: &str, role: Role) {
    app.store
        .create_user(
            email,
            &herald_domain::password::hash(PASSWORD).unwrap(),
            role,
            &Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap();
}

/// A browser session: no redirects followed, the session cookie kept by hand.
pub struct Admin {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts the sign-in form.
pub async fn login_raw(app: &TestApp, email: &str, password: &str) -> Resp {
    let r = client()
        .post(app.url("/admin/login"))
        .header("Origin", app.url(""))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    read(r).await
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

impl Admin {
    /// Signs in as `email` with `PASSWORD`.
    pub async fn login(app: &TestApp, email: &str) -> Admin {
        let r = login_raw(app, email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let set = r.headers["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let mut a = Admin {
            base: app.url(""),
            client: client(),
            cookie,
            csrf: String::new(),
        };
        let page = a.get("/admin/password").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        a.csrf = csrf_of(&page.text);
        a
    }

    pub async fn get(&self, path: &str) -> Resp {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// Posts a form as the browser would from herald's own page (with the CSRF token).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut f: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        f.extend_from_slice(fields);
        self.post_with(
            path,
            &f,
            &[("Origin", &self.base), ("Sec-Fetch-Site", "same-origin")],
        )
        .await
    }

    /// Posts exactly `fields` with exactly these extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .form(fields);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        read(rb.send().await.unwrap()).await
    }
}

/// How many audit entries exist.
pub async fn audit_count(app: &TestApp) -> usize {
    app.store.list_audit(None, 10_000).await.unwrap().len()
}

/// `/admin/pages/<page id>` + `rest`.
pub fn admin_page(app: &TestApp, rest: &str) -> String {
    format!("/admin/pages/{}{rest}", app.page.id)
}

/// The id at the end of a `Location` header.
pub fn location_id(r: &Resp) -> String {
    let loc = r.headers["location"].to_str().unwrap();
    loc.rsplit('/').next().unwrap().to_owned()
}
