//! TLS for `mqtts://`: the CA file given, or else the system's root certificates (what
//! `ca-certificates` installs, or the file named by `SSL_CERT_FILE`), so a broker with a public
//! certificate works with no `ca_file`.

use std::path::Path;
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};

/// The transport for a TLS connection, trusting `ca_file` if given, else the system's roots.
pub(super) fn transport(ca_file: Option<&Path>) -> Result<Transport, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(path) = ca_file {
        let ca = std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
        return Ok(Transport::tls(ca, None, None));
    }
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or(String::new(), |e| format!(" ({e})"));
        return Err(format!(
            "no system root certificates found{why}: install ca-certificates, set SSL_CERT_FILE, or give `ca_file`"
        ));
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))))
}
