//! `quorate bench`: figures for the README (filled in below).

#[derive(clap::Args)]
pub struct BenchArgs {}

pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench is not built yet")
}
