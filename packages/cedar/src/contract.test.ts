import { CONTRACT_RULE, describePolicyClientContract } from "@agentgate/core/contracts";
import { CedarPolicyClient } from "./cedar-policy-client.js";

describePolicyClientContract(
  "CedarPolicyClient (sliced)",
  async () => new CedarPolicyClient({ policies: { "contract.cedar": CONTRACT_RULE } }),
);
describePolicyClientContract(
  "CedarPolicyClient (whole set)",
  async () =>
    new CedarPolicyClient({ policies: { "contract.cedar": CONTRACT_RULE }, slicing: false }),
);
