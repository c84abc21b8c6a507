//! `hearth drain`: an operator asks an SFU node of a cluster to drain, as
//! SIGTERM would (useful where the node's process is out of reach, e.g. on
//! another machine), or lists the SFU nodes to pick one.

use clap::Args;
use hearth_bus::sfu_registry::SfuRegistry;

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The cluster's Redis.
    #[arg(long, env = "HEARTH_REDIS", hide_env_values = true)]
    pub redis: String,
    /// The cluster's key prefix. [default: hearth:]
    #[arg(long, env = "HEARTH_REDIS_PREFIX", default_value = "hearth:")]
    pub redis_prefix: String,
    /// The node to drain, by name (`hearth drain` without it lists them).
    pub node: Option<String>,
}

pub async fn run(args: DrainArgs) -> anyhow::Result<()> {
    let registry = SfuRegistry::connect(&args.redis, &args.redis_prefix).await?;
    let Some(node) = args.node else {
        let mut live = registry.live().await?;
        live.sort_by(|a, b| (&a.region, &a.node).cmp(&(&b.region, &b.node)));
        println!("NODE\tREGION\tENDPOINT\tROOMS\tPARTICIPANTS\tPACKETS/S\tCPU\tSTATE");
        for e in live {
            let state = match (e.draining, e.full) {
                (true, _) => "draining",
                (false, true) => "full",
                (false, false) => "serving",
            };
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{:.0}%\t{state}",
                e.node,
                e.region,
                e.endpoint,
                e.rooms,
                e.participants,
                e.packets_per_sec,
                e.cpu * 100.0
            );
        }
        return Ok(());
    };
    anyhow::ensure!(
        registry.request_drain(&node).await?,
        "no running SFU node is named {node:?}: `hearth drain` without a name lists them"
    );
    println!("{node} drains: it takes no new rooms, and stops once its calls end or its drain timeout passes");
    Ok(())
}
