//! A loopback TCP proxy in front of PostgreSQL that a test turns into an outage: refusing
//! connections (the port closed, as when the server is down), resetting them, or hanging
//! (accepting and forwarding nothing, as a dead network path does). It breaks only the
//! connections made through it, so tests sharing the PostgreSQL server are not disturbed.
//!
//! It listens on a random address of 127.0.0.0/8 other than 127.0.0.1, so that when it
//! closes its port to refuse and opens it again, no other test can have taken that port.

use rand::RngExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::helpers::pg_url;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Closes its port: new connections are refused (open ones carry on; end them with
    /// [`terminate_backends`], as a server that stops does).
    Refuse,
    /// Resets every connection, open and new.
    Reset,
    /// Accepts connections and forwards nothing on any of them, until the mode changes.
    Hang,
}

/// The proxy; dropping it stops it.
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl FaultProxy {
    /// A proxy to the test PostgreSQL server, passing traffic.
    pub async fn to_postgres() -> FaultProxy {
        let url = url::Url::parse(&pg_url()).unwrap();
        let host = url.host_str().unwrap().to_owned();
        let port = url.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .expect("PostgreSQL's address");
        let (listener, addr) = bind_random().await;
        let (mode, rx) = watch::channel(Mode::Pass);
        tokio::spawn(serve(listener, addr, upstream, rx));
        FaultProxy { addr, mode }
    }

    /// `database_url` routed through the proxy, its sessions named `application_name` (so a
    /// test can find its own backends in `pg_stat_activity`).
    pub fn route(&self, database_url: &str, application_name: &str) -> String {
        let mut u = url::Url::parse(database_url).unwrap();
        u.set_ip_host(self.addr.ip()).unwrap();
        u.set_port(Some(self.addr.port())).unwrap();
        u.query_pairs_mut()
            .append_pair("application_name", application_name);
        u.to_string()
    }

    /// Switches what the proxy does; takes effect on open connections at once.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Reset everything, then the serving task ends when the sender goes.
        self.mode.send_replace(Mode::Reset);
    }
}

/// Binds port 0 on a random 127.x.y.z (never 127.0.0.x).
async fn bind_random() -> (TcpListener, SocketAddr) {
    loop {
        let mut rng = rand::rng();
        let ip = Ipv4Addr::new(
            127,
            rng.random_range(1..=254),
            rng.random_range(0..=255),
            rng.random_range(1..=254),
        );
        if let Ok(l) = listen(SocketAddr::new(IpAddr::V4(ip), 0)) {
            let addr = l.local_addr().unwrap();
            return (l, addr);
        }
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(256)
}

/// Accepts while the port is open; closes it while refusing and opens it again after.
async fn serve(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(connection(client, upstream, mode.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                if *mode.borrow() == Mode::Refuse {
                    drop(listener);
                    if mode.wait_for(|m| *m != Mode::Refuse).await.is_err() {
                        return;
                    }
                    listener = listen(addr).expect("reopen the proxy's port");
                }
            }
        }
    }
}

/// One client connection: forwarded, held silent, or reset, as the mode says.
async fn connection(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let now = *mode.borrow_and_update();
    let server = match now {
        Mode::Pass => TcpStream::connect(upstream).await.ok(),
        // Held without a word until the outage ends, then dropped.
        Mode::Hang => {
            let _ = mode.wait_for(|m| *m != Mode::Hang).await;
            None
        }
        Mode::Refuse | Mode::Reset => None,
    };
    let Some(mut server) = server else {
        return reset(client);
    };
    if pump(&mut client, &mut server, &mut mode).await {
        reset(client);
    }
}

/// Copies both ways until either side closes (false) or the mode says reset (true);
/// forwards nothing while the mode is `Hang`.
async fn pump(
    client: &mut TcpStream,
    server: &mut TcpStream,
    mode: &mut watch::Receiver<Mode>,
) -> bool {
    let (mut a, mut b) = ([0u8; 16384], [0u8; 16384]);
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Pass | Mode::Refuse => {}
            Mode::Hang => {
                if mode.changed().await.is_err() {
                    return true;
                }
                continue;
            }
            Mode::Reset => return true,
        }
        tokio::select! {
            n = cr.read(&mut a) => match n {
                Ok(n) if n > 0 => if sw.write_all(&a[..n]).await.is_err() { return false },
                _ => return false,
            },
            n = sr.read(&mut b) => match n {
                Ok(n) if n > 0 => if cw.write_all(&b[..n]).await.is_err() { return false },
                _ => return false,
            },
            changed = mode.changed() => if changed.is_err() { return true },
        }
    }
}

/// Closes with a TCP reset rather than an orderly FIN.
fn reset(s: TcpStream) {
    let _ = s.set_zero_linger();
    drop(s);
}

/// What a page-change listener's session last ran.
const LISTENING: &str = "LISTEN \"herald_page_changed\"%";

/// Ends this test's own PostgreSQL sessions (those named `application_name`; with
/// `only_listening`, only its page-change listener), as an administrator or a stopping server
/// does; returns how many.
pub async fn terminate_backends(application_name: &str, only_listening: bool) -> i64 {
    let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid() \
           AND ($2 = false OR query LIKE $3)",
    )
    .bind(application_name)
    .bind(only_listening)
    .bind(LISTENING)
    .fetch_one(&admin)
    .await
    .unwrap();
    admin.close().await;
    n
}

/// The pids of this test's sessions listening for page changes.
pub async fn listening_backends(application_name: &str) -> Vec<i32> {
    let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    let pids = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2 ORDER BY pid",
    )
    .bind(application_name)
    .bind(LISTENING)
    .fetch_all(&admin)
    .await
    .unwrap();
    admin.close().await;
    pids
}

/// A generous bound for waits that only catches a hang.
pub const HANG: Duration = Duration::from_secs(30);

/// A PostgreSQL database of one test's own, so that it may refuse connections
/// (`ALLOW_CONNECTIONS false`) without touching the `test` database other tests share.
/// Dropped (with any session left) when the value is.
pub struct OwnDatabase {
    pub name: String,
    pub url: String,
}

impl OwnDatabase {
    pub async fn create() -> OwnDatabase {
        let name = format!("it_db_{}", herald_domain::id::generate());
        admin(&format!("CREATE DATABASE {name}")).await;
        let mut u = url::Url::parse(&pg_url()).unwrap();
        u.set_path(&name);
        OwnDatabase {
            name,
            url: u.to_string(),
        }
    }

    /// What `ALTER DATABASE ... ALLOW_CONNECTIONS` does: the server answers every new
    /// session with `FATAL: database "..." is not currently accepting connections`.
    pub async fn allow_connections(&self, allow: bool) {
        admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
            self.name
        ))
        .await;
    }

    /// Ends every session on this database; returns how many.
    pub async fn terminate_sessions(&self) -> i64 {
        let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
        let n = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&self.name)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        n
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        crate::helpers::pg_cleanup(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Runs one statement on the server's `test` database as the test role.
async fn admin(sql: &str) {
    let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}
