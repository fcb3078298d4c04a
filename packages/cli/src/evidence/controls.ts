/** The frameworks an evidence pack maps to. */
export type Framework = "soc2" | "iso27001" | "hipaa";

/** The sections of an evidence pack. */
export type EvidenceSection =
  | "inventory"
  | "access-changes"
  | "denials"
  | "approvals"
  | "revocations"
  | "integrity";

/** One control a section supports. */
export interface Control {
  readonly id: string;
  readonly title: string;
}

/** Each framework's name and the controls each section is evidence for. */
export const FRAMEWORKS: Readonly<
  Record<
    Framework,
    {
      readonly name: string;
      readonly sections: Readonly<Record<EvidenceSection, readonly Control[]>>;
    }
  >
> = {
  soc2: {
    name: "SOC 2 (2017 Trust Services Criteria)",
    sections: {
      inventory: [
        { id: "CC6.1", title: "Logical access security over protected information assets" },
        {
          id: "CC6.2",
          title: "Registration and authorization of new users before access is issued",
        },
      ],
      "access-changes": [
        { id: "CC6.2", title: "Registration, authorization and removal of users" },
        {
          id: "CC6.3",
          title: "Access is authorized, modified or removed based on roles and least privilege",
        },
      ],
      denials: [
        { id: "CC6.1", title: "Logical access security restricts access to authorized use" },
        { id: "CC7.2", title: "Monitoring of system components for anomalies" },
      ],
      approvals: [{ id: "CC6.3", title: "Access is authorized based on approval" }],
      revocations: [
        { id: "CC6.2", title: "Access is removed when no longer authorized" },
        { id: "CC6.3", title: "Access is removed based on roles and responsibilities" },
      ],
      integrity: [
        { id: "CC7.2", title: "Monitoring: the activity record is complete and unaltered" },
      ],
    },
  },
  iso27001: {
    name: "ISO/IEC 27001:2022 Annex A",
    sections: {
      inventory: [
        { id: "A.5.16", title: "Identity management" },
        { id: "A.5.15", title: "Access control" },
      ],
      "access-changes": [
        { id: "A.5.16", title: "Identity management: the life cycle of identities" },
        { id: "A.5.18", title: "Access rights: provision, review, modification and removal" },
      ],
      denials: [
        { id: "A.5.15", title: "Access control: rules enforced" },
        { id: "A.8.15", title: "Logging" },
      ],
      approvals: [{ id: "A.5.18", title: "Access rights: authorization of access" }],
      revocations: [{ id: "A.5.18", title: "Access rights: removal" }],
      integrity: [{ id: "A.8.15", title: "Logging: logs protected against tampering" }],
    },
  },
  hipaa: {
    name: "HIPAA Security Rule, 45 CFR §164.312 (technical safeguards)",
    sections: {
      inventory: [
        { id: "§164.312(a)(1)", title: "Access control: unique identification of each agent" },
        { id: "§164.312(d)", title: "Person or entity authentication" },
      ],
      "access-changes": [
        { id: "§164.312(a)(1)", title: "Access control: granting and changing access" },
      ],
      denials: [
        { id: "§164.312(a)(1)", title: "Access control: only authorized access" },
        { id: "§164.312(b)", title: "Audit controls" },
        { id: "§164.312(d)", title: "Person or entity authentication: refused credentials" },
      ],
      approvals: [{ id: "§164.312(a)(1)", title: "Access control: access approved by a person" }],
      revocations: [{ id: "§164.312(a)(1)", title: "Access control: access terminated" }],
      integrity: [{ id: "§164.312(b)", title: "Audit controls: the record of activity is intact" }],
    },
  },
};
