// The go-live alerts (the seed's month-1 criteria), over Application Insights: provisioning failures above 5% of
// the provisionings that ended in the last hour, and time to active above 60 s at p95. Both are evaluated every
// 15 minutes over the last hour and wait for at least 5 provisionings, so one bad customer at night is not a page.
param location string
param tags object
param applicationInsightsId string
param namePrefix string

@description('Who is told (email); empty: the alerts fire in the portal only.')
param alertEmail string

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'setupclaw'
    enabled: true
    emailReceivers: [ { name: 'operator', emailAddress: alertEmail, useCommonAlertSchema: true } ]
  }
}

var actions = empty(alertEmail) ? {} : { actionGroups: [ operators.id ] }

// setupclaw.provisioning.completed is counted with outcome active or failed (SetupClawMetrics).
resource failureRate 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-provisioning-failure-rate'
  location: location
  tags: tags
  properties: {
    displayName: 'SetupClaw: provisioning failure rate over 5% (1 h)'
    description: 'More than 5% of the provisionings that ended in the last hour failed. The operator view and docs/operations.md say why and what to do.'
    severity: 1
    enabled: true
    scopes: [ applicationInsightsId ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "setupclaw.provisioning.completed" | extend outcome = tostring(customDimensions["outcome"]) | summarize failed = sumif(valueSum, outcome == "failed"), total = sum(valueSum) | where total >= 5 | extend rate = failed / total | where rate > 0.05'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}

// The activation log line ("[PROVISION COMPLETE] <customer id> provisioned in 12.3s"), forwarded by the Functions
// host; the figure is read from the message itself, whatever the host does with the structured properties. It counts
// from the start of provisioning (the metric time_to_active counts from the payment's fact).
resource timeToActive 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-time-to-active-p95'
  location: location
  tags: tags
  properties: {
    displayName: 'SetupClaw: time to active over 60 s at p95 (1 h)'
    description: 'The slowest 5% of last hour\'s provisionings took more than 60 s from payment to an active assistant.'
    severity: 2
    enabled: true
    scopes: [ applicationInsightsId ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message startswith "[PROVISION COMPLETE]" | extend seconds = todouble(extract(@"provisioned in ([0-9.]+)s", 1, message)) | where isnotnull(seconds) | summarize p95 = percentile(seconds, 95), provisionings = count() | where provisionings >= 5 and p95 > 60'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}
