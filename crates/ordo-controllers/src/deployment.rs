//! (being written)

/// Runs this controller until an unrecoverable error.
pub async fn run(_client: kube::Client) -> anyhow::Result<()> {
    std::future::pending::<()>().await;
    Ok(())
}
