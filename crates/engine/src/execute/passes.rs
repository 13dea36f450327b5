//! A run's passes and its Insights sending.
//!
//! Most runs are one pass: one source into one index. A commercetools source with `locales` and
//! an `indexPrefix` destination is one pass per locale, each into `{indexPrefix}{locale}`
//! (`docs/api.md` C16); the run succeeds when every pass does. An `insights` destination sends the
//! records as Insights events instead of pushing them (a GA4/GA360 export's item events are
//! mapped to Insights events first).

use std::sync::Arc;

use ingest_algolia::{InsightsSender, InsightsSettings, PushPlan, RunSummary, Transport};
use ingest_connectors::commercetools::locale_sources;
use ingest_connectors::{Source, SourceContext, build_source};
use ingest_core::RecordStream;
use ingest_core::exclude::Exclusions;
use ingest_model::{
    AuthInput, DestinationInput, IndexTarget, RunOutcome, RunReasonCode, RunRecorder,
    SourceCommercetools, SourceInput,
};
use ingest_store::RunFinish;

use crate::transformation::RecordTransformation;

/// One source into one index.
pub struct Pass {
    /// The records.
    pub source: Box<dyn Source>,
    /// Where they go.
    pub plan: PushPlan,
    /// The destination's `attributesToExclude`.
    pub exclusions: Exclusions,
    /// The destination's transformation, compiled for the run.
    pub transformation: Option<Arc<RecordTransformation>>,
}

impl Pass {
    /// The source's records, through the destination's transformation, then without its
    /// excluded attributes.
    pub fn records(&self) -> RecordStream {
        let records = self.source.records();
        let records = match &self.transformation {
            Some(transformation) => transformation.stream(records),
            None => records,
        };
        self.exclusions.clone().stream(records)
    }
}

/// The passes of a run whose single-pass plan is `plan`.
pub fn passes(
    input: &SourceInput,
    destination: &DestinationInput,
    auth: Option<&AuthInput>,
    context: &SourceContext,
    plan: PushPlan,
) -> Result<Vec<Pass>, String> {
    let exclusions = Exclusions::new(&destination.attributes_to_exclude);
    let Some((commercetools, prefix)) = per_locale(input, destination) else {
        let source = build_source(input, auth, context).map_err(|error| error.to_string())?;
        return Ok(vec![Pass {
            source,
            plan,
            exclusions,
            transformation: None,
        }]);
    };
    let sources = locale_sources(commercetools, auth, context).map_err(|e| e.to_string())?;
    Ok(sources
        .into_iter()
        .map(|locale| Pass {
            source: locale.source,
            plan: PushPlan {
                index: format!("{prefix}{}", locale.locale),
                ..plan.clone()
            },
            exclusions: exclusions.clone(),
            transformation: None,
        })
        .collect())
}

/// The indices a run writes: one per locale for a commercetools source with `locales` and an
/// `indexPrefix` destination (`{indexPrefix}{locale}`, `docs/api.md` C16), else the one index.
pub(crate) fn indices(
    input: &SourceInput,
    destination: &DestinationInput,
    source_name: &str,
) -> Vec<String> {
    match per_locale(input, destination) {
        Some((commercetools, prefix)) => commercetools
            .locales
            .iter()
            .flatten()
            .map(|locale| format!("{prefix}{locale}"))
            .collect(),
        None => vec![destination.index_for(source_name)],
    }
}

/// The commercetools input and the index prefix of a run with one index per locale.
fn per_locale<'a>(
    input: &'a SourceInput,
    destination: &'a DestinationInput,
) -> Option<(&'a SourceCommercetools, &'a str)> {
    match (input, &destination.target) {
        (SourceInput::Commercetools(commercetools), IndexTarget::IndexPrefix { index_prefix })
            if commercetools
                .locales
                .as_ref()
                .is_some_and(|l| !l.is_empty()) =>
        {
            Some((commercetools, index_prefix))
        }
        _ => None,
    }
}

/// One finish for several passes: the first failure (named by its index), else a success
/// listing each pass.
pub(crate) fn combine(mut finishes: Vec<(String, RunFinish)>) -> RunFinish {
    if finishes.len() == 1 {
        return finishes.remove(0).1;
    }
    if let Some((index, failed)) = finishes
        .iter()
        .find(|(_, finish)| finish.outcome == RunOutcome::Failure)
    {
        return RunFinish {
            reason: Some(format!(
                "`{index}`: {}",
                failed.reason.as_deref().unwrap_or_default()
            )),
            ..failed.clone()
        };
    }
    let any_ok = finishes
        .iter()
        .any(|(_, finish)| finish.reason_code == RunReasonCode::Ok);
    let reasons: Vec<String> = finishes
        .iter()
        .map(|(index, finish)| {
            format!(
                "`{index}`: {}",
                finish.reason.as_deref().unwrap_or_default()
            )
        })
        .collect();
    RunFinish {
        outcome: RunOutcome::Success,
        reason_code: if any_ok {
            RunReasonCode::Ok
        } else {
            RunReasonCode::NoEvents
        },
        reason: Some(reasons.join("; ")),
        progress: None,
    }
}

/// Sends `records` as Insights events through `transport` (built on the Insights hosts): a
/// GA4/GA360 export's item events are mapped to Insights events first; any other source's
/// records are taken to be events already.
pub async fn send_insights(
    transport: Arc<Transport>,
    input: &SourceInput,
    index: &str,
    records: RecordStream,
    failure_threshold: u8,
    recorder: &dyn RunRecorder,
) -> RunSummary {
    let ga_export =
        matches!(input, SourceInput::BigQuery(bigquery) if bigquery.data_type.is_some());
    let events = if ga_export {
        ingest_connectors::bigquery::insights_events(records, index)
    } else {
        records
    };
    InsightsSender::new(transport, InsightsSettings::default())
        .run(events, failure_threshold, recorder)
        .await
}
