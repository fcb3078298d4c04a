import { AgentGateError, type SigningAlgorithm } from "@agentgate/core";

/** The clouds whose workload identity federation accepts AgentGate tokens. */
export type Cloud = "aws" | "gcp" | "azure";

/** The clouds `agentgate token issue --for` knows. */
export const CLOUDS: readonly Cloud[] = ["aws", "gcp", "azure"];

/** What one cloud's token exchange expects of the token an AgentGate authority signs. */
export interface CloudProfile {
  readonly cloud: Cloud;
  /** The `aud` the cloud checks. */
  readonly audience: string;
  /** The signing algorithms the cloud documents as accepted. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** The longest `sub` the cloud maps, in bytes. */
  readonly maxSubjectBytes: number;
  /** The lifetime issued when none is asked for, in seconds. */
  readonly defaultTtlSeconds: number;
}

/**
 * A GCP workload identity pool provider's resource name, as `gcloud iam
 * workload-identity-pools providers describe` prints it (`name`).
 */
const GCP_PROVIDER =
  /^projects\/[0-9]{1,20}\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;

/**
 * The profile of one cloud:
 * - AWS (`AssumeRoleWithWebIdentity`): `aud` `sts.amazonaws.com` (the IAM OIDC provider's client
 *   ID), RS256/ES256 among the accepted algorithms;
 * - GCP (workload identity federation): `aud` the provider's full resource name
 *   `//iam.googleapis.com/<provider>` (its default allowed audience), RSA or EC keys,
 *   `google.subject` at most 127 bytes;
 * - Azure (Entra ID federated identity credential): `aud` `api://AzureADTokenExchange`, RS256
 *   only, subject at most 600 characters.
 *
 * @param gcpProvider the GCP provider's resource name, e.g.
 *   `projects/123/locations/global/workloadIdentityPools/agents/providers/agentgate`
 */
export function cloudProfile(cloud: string, gcpProvider?: string): CloudProfile {
  switch (cloud) {
    case "aws":
      return {
        cloud,
        audience: "sts.amazonaws.com",
        algorithms: ["RS256", "ES256"],
        maxSubjectBytes: 255,
        defaultTtlSeconds: 300,
      };
    case "gcp": {
      if (gcpProvider === undefined || !GCP_PROVIDER.test(gcpProvider)) {
        throw new AgentGateError(
          "invalid_configuration",
          "--for gcp needs --gcp-provider projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.",
        );
      }
      return {
        cloud,
        audience: `//iam.googleapis.com/${gcpProvider}`,
        algorithms: ["RS256", "ES256"],
        maxSubjectBytes: 127,
        defaultTtlSeconds: 300,
      };
    }
    case "azure":
      return {
        cloud,
        audience: "api://AzureADTokenExchange",
        algorithms: ["RS256"],
        maxSubjectBytes: 600,
        defaultTtlSeconds: 300,
      };
    default:
      throw new AgentGateError(
        "invalid_configuration",
        `Unknown cloud ${cloud}: use ${CLOUDS.join(", ")}.`,
      );
  }
}

/**
 * Refuses, before signing, a token the cloud would reject: an issuer that is not an https URL
 * (every cloud fetches `<iss>/.well-known/openid-configuration` over https), a signing key of
 * an algorithm the cloud does not accept, or a subject longer than it maps.
 */
export function checkCloudIssue(
  profile: CloudProfile,
  issuer: string,
  algorithm: SigningAlgorithm,
  subject: string,
): void {
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" || url.search !== "" || url.hash !== "") {
    throw new AgentGateError(
      "invalid_configuration",
      `${profile.cloud} needs an https issuer, not ${issuer}: set it with \`agentgate init --public-url https://…\` (or "issuer" in config.json) and serve discovery there.`,
    );
  }
  if (!profile.algorithms.includes(algorithm)) {
    throw new AgentGateError(
      "invalid_configuration",
      `${profile.cloud} does not accept ${algorithm} tokens: run \`agentgate keys rotate --algorithm ${profile.algorithms[0]}\`.`,
    );
  }
  if (Buffer.byteLength(subject) > profile.maxSubjectBytes) {
    throw new AgentGateError(
      "invalid_configuration",
      `${profile.cloud} maps a sub of at most ${profile.maxSubjectBytes} bytes; ${subject} is longer.`,
    );
  }
}
