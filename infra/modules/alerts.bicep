// Azure Monitor alerts on what pimbot writes to Log Analytics: jobs that fail, Graph answering
// 5xx or 429 too often, and replicas failing their readiness probe (/readyz). Each rule is a log
// search over the Container Apps tables of the workspace; an action group mails whoever is named.
//
// pimbot logs one JSON object per line (bot/logging_setup.py); Container Apps puts each line in
// ContainerAppConsoleLogs_CL.Log_s. The messages matched here are those of bot/scheduler.py
// ("job <id> (<kind>) failed, attempt <n>", "job <id> (<kind>): Teams refused it: ...") and of
// bot/graph/http.py ("graph <METHOD> <path> -> <status> in <ms> ms ..."); tests/deploy checks
// that the code still writes them. The Graph lines are INFO, and stay on whatever PIMBOT_LOG_LEVEL
// says (bot/logging_setup.py ALERTED_LOGGERS); the job lines are warnings. Probe failures are Container Apps' own system log
// (ContainerAppSystemLogs_CL, reason ProbeFailed).

@description('Azure region of the rules.')
param location string

@description('Prefix for the rule names.')
param namePrefix string

@description('Resource id of the Log Analytics workspace the container app logs to.')
param workspaceId string

@description('Name of the container app (its logs carry it in ContainerAppName_s).')
param appName string

@description('E-mail addresses to notify; empty: the alerts fire in Azure Monitor without a notification.')
param emails array

@minValue(1)
@description('Failed job attempts in 15 minutes that raise the failed-jobs alert.')
param failedJobsThreshold int

@minValue(1)
@maxValue(100)
@description('Percentage of Graph responses that are 5xx or 429, over 15 minutes, that raises the Graph alert.')
param graphErrorPercent int

@minValue(1)
@description('Fewest Graph responses in those 15 minutes for the rate to count (a few retries are no trend).')
param graphMinimumResponses int

param tags object

resource notify 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(emails)) {
  name: '${namePrefix}-alerts'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [for (email, i) in emails: {
      name: 'mail-${i}'
      emailAddress: email
      useCommonAlertSchema: true
    }]
  }
}

var actions = empty(emails) ? {} : {
  actionGroups: [
    notify.id
  ]
}

var consoleLines = 'ContainerAppConsoleLogs_CL | where ContainerAppName_s == "${appName}" | extend message = tostring(parse_json(Log_s).message)'

resource failedJobs 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-failed-jobs'
  location: location
  tags: tags
  properties: {
    displayName: 'pimbot: jobs failing'
    description: 'Jobs (approval cards, activations, card updates, notices) failed or were refused by Teams. A failed job is retried with backoff and marked failed after its last attempt: see the log lines, then `pimbot doctor`.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '${consoleLines} | where message matches regex @"^job \\S+ \\([^)]*\\)(: Teams refused it| failed, attempt)"'
          timeAggregation: 'Count'
          operator: 'GreaterThanOrEqual'
          threshold: failedJobsThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

resource graphErrors 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-graph-errors'
  location: location
  tags: tags
  properties: {
    displayName: 'pimbot: Microsoft Graph 5xx or 429'
    description: 'Too many Graph responses are server errors or throttling (429). pimbot retries them (PIMBOT_GRAPH_MAX_RETRY_SECONDS); a lasting rate delays activations. Check the Microsoft 365 service health and the request-id values in the log.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '${consoleLines} | where message startswith "graph " | parse message with "graph " method:string " " path:string " -> " status:string " in " * | summarize responses = count(), failing = countif(status startswith "5" or status == "429") | where responses >= ${graphMinimumResponses} | extend percent = 100.0 * failing / responses'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'percent'
          operator: 'GreaterThanOrEqual'
          threshold: graphErrorPercent
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

resource notReady 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-not-ready'
  location: location
  tags: tags
  properties: {
    displayName: 'pimbot: replicas not ready'
    description: 'Replicas fail the readiness probe (/readyz answers 503): the database or the Graph token endpoint does not answer, or a replica is draining for too long. `curl https://<host>/readyz` says which; `pimbot doctor` checks each part.'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT10M'
    criteria: {
      allOf: [
        {
          query: 'ContainerAppSystemLogs_CL | where ContainerAppName_s == "${appName}" | where Reason_s == "ProbeFailed" and Log_s has "readiness"'
          timeAggregation: 'Count'
          operator: 'GreaterThanOrEqual'
          threshold: 3
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

output ruleNames array = [
  failedJobs.name
  graphErrors.name
  notReady.name
]
