//! Connection startup: parameters, the database check, authentication, and
//! the engine session every later message uses.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use orbit_sql::{Session, SqlEngine};
use pgwire::api::auth::cleartext::CleartextPasswordAuth;
use pgwire::api::auth::md5pass::{Md5PasswordAuth, hash_md5_password};
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory, AuthState};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password};
use pgwire::api::auth::{
    AuthDriver, AuthOutcome, AuthSource, LoginInfo, Password, ServerParameterProvider, StartupHandler,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, ConnectionManager};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::Mutex;

use crate::config::{AuthMethod, PostgresConfig};
use crate::error::fatal;
use crate::handler::SessionSlot;

/// The `server_version` clients see: PostgreSQL 15, which drivers parse.
pub const SERVER_VERSION: &str = concat!("15.0 (Orbit ", env!("CARGO_PKG_VERSION"), ")");

/// The ParameterStatus values sent after authentication.
#[derive(Debug, Default)]
pub(crate) struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let meta = client.metadata();
        let user = meta.get("user").cloned().unwrap_or_default();
        let mut p: HashMap<String, String> = [
            ("server_version", SERVER_VERSION),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("TimeZone", "UTC"),
            ("IntervalStyle", "postgres"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("is_superuser", "on"),
            ("in_hot_standby", "off"),
            ("default_transaction_read_only", "off"),
            ("scram_iterations", "4096"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        p.insert("session_authorization".into(), user);
        p.insert("application_name".into(), meta.get("application_name").cloned().unwrap_or_default());
        Some(p)
    }
}

/// Passwords from the configuration, in the form each method needs.
#[derive(Debug)]
pub(crate) struct Users {
    config: Arc<PostgresConfig>,
    method: AuthMethod,
}

// async_trait's expansion needs the trait's own (elided) lifetime spelling.
#[allow(elided_lifetimes_in_paths)]
#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        let Some(user) = self.config.users.iter().find(|u| u.name == name) else {
            return Err(PgWireError::InvalidPassword(name.to_string()));
        };
        Ok(match self.method {
            AuthMethod::Md5 => {
                let salt: [u8; 4] = rand_bytes();
                Password::new(Some(salt.to_vec()), hash_md5_password(name, &user.password, &salt).into_bytes())
            }
            AuthMethod::ScramSha256 => {
                let salt: [u8; 16] = rand_bytes();
                // 4 096 rounds of PBKDF2 take milliseconds: off the
                // connection thread, whose other connections would wait.
                let password = user.password.clone();
                let salted = tokio::task::spawn_blocking(move || gen_salted_password(&password, &salt, 4096))
                    .await
                    .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
                Password::new(Some(salt.to_vec()), salted)
            }
            AuthMethod::Password | AuthMethod::Trust => Password::new(None, user.password.as_bytes().to_vec()),
        })
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let r = uuid::Uuid::new_v4();
        chunk.copy_from_slice(&r.as_bytes()[..chunk.len()]);
    }
    out
}

/// Lets everyone in, as `trust` in pg_hba.conf.
struct Trust;

#[async_trait]
impl AuthMechanism for Trust {
    async fn begin(&mut self, _client: &(dyn ClientInfo + Send + Sync)) -> PgWireResult<AuthState> {
        Ok(AuthState::Ok { final_message: None, identity: None })
    }

    async fn next(
        &mut self,
        _client: &(dyn ClientInfo + Send + Sync),
        _message: pgwire::messages::startup::PasswordMessageFamily,
    ) -> PgWireResult<AuthState> {
        Ok(AuthState::Ok { final_message: None, identity: None })
    }
}

/// The startup handler: checks the database, opens the session, then
/// authenticates with the configured method.
pub(crate) struct Startup {
    engine: Arc<SqlEngine>,
    method: AuthMethod,
    driver: AuthDriver<Arc<Parameters>>,
    cleartext: CleartextPasswordAuth<Users>,
    md5: Md5PasswordAuth<Users>,
    scram: SASLAuthStartupHandler<Parameters>,
}

impl Startup {
    pub(crate) fn new(engine: Arc<SqlEngine>, config: Arc<PostgresConfig>, manager: Arc<ConnectionManager>) -> Self {
        // With no users configured the endpoint is a fresh `initdb -A trust`.
        let method = if config.users.is_empty() { AuthMethod::Trust } else { config.auth };
        let params = Arc::new(Parameters);
        let users = |m| Arc::new(Users { config: config.clone(), method: m });
        let scram_source: Arc<dyn AuthSource> = users(AuthMethod::ScramSha256);
        Startup {
            engine,
            method,
            driver: AuthDriver::new(params.clone()).with_connection_manager(manager.clone()),
            cleartext: CleartextPasswordAuth::new(users(AuthMethod::Password)),
            md5: Md5PasswordAuth::new(users(AuthMethod::Md5)),
            scram: SASLAuthStartupHandler::new(params)
                .with_scram(ScramAuth::new(scram_source))
                .with_connection_manager(manager),
        }
    }

    fn mechanism(&self) -> Box<dyn AuthMechanism> {
        match self.method {
            AuthMethod::Trust => Box::new(Trust),
            AuthMethod::Password => self.cleartext.create(),
            AuthMethod::Md5 => self.md5.create(),
            // SCRAM runs through pgwire's SASL handler instead.
            AuthMethod::ScramSha256 => Box::new(Trust),
        }
    }

    async fn finish<C>(&self, client: &mut C, outcome: AuthOutcome) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match outcome {
            AuthOutcome::InProgress => Ok(()),
            AuthOutcome::Authenticated { final_message, .. } => {
                self.driver.complete_authentication(client, final_message).await
            }
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let PgWireFrontendMessage::Startup(startup) = &message {
            let user = startup.parameters.get("user").cloned().unwrap_or_default();
            if user.is_empty() {
                return Err(fatal("28000", "no PostgreSQL user name specified in startup packet".into()));
            }
            let database = startup.parameters.get("database").cloned().unwrap_or_else(|| user.clone());
            match Session::open(self.engine.clone(), &database, &user).await {
                Ok(s) => {
                    client.session_extensions().insert(SessionSlot(Arc::new(Mutex::new(s))));
                }
                Err(e) => return Err(fatal(crate::error::sqlstate(e.code), e.message)),
            }
            if self.method == AuthMethod::ScramSha256 {
                return self.scram.on_startup(client, message).await;
            }
            protocol_negotiation(client, startup).await?;
            save_startup_parameters_to_metadata(client, startup);
            let outcome = self.driver.begin_authentication(client, self.mechanism()).await?;
            return self.finish(client, outcome).await;
        }
        if self.method == AuthMethod::ScramSha256 {
            return self.scram.on_startup(client, message).await;
        }
        if let PgWireFrontendMessage::PasswordMessageFamily(pwd) = message {
            let outcome = self.driver.advance_authentication(client, pwd).await?;
            return self.finish(client, outcome).await;
        }
        Ok(())
    }
}
