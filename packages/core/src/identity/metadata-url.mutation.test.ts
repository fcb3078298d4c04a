import { describe, expect, it } from "vitest";
import { checkMetadataUrl } from "./metadata-url.js";

// Mutation tests of checkMetadataUrl (MUTATION.md, group `identity`; SECURITY.md I67): each
// refused range at both of its edges, user info in either half, the trailing-dot spellings of
// local names, and what the loud option admits.

const refused = (url: string, options = {}) => {
  try {
    checkMetadataUrl(url, options);
    return false;
  } catch (error) {
    expect(error).toMatchObject({
      code: "invalid_configuration",
      details: { check: "metadata_url" },
    });
    return true;
  }
};

describe("checkMetadataUrl at the edges (I67)", () => {
  it("I67: each private or reserved IPv4 range is refused from its first to its last address, and its neighbours pass", () => {
    const inside = [
      "0.0.0.1",
      "0.255.255.255",
      "10.0.0.0",
      "10.255.255.255",
      "127.0.0.1",
      "127.255.255.254",
      "100.64.0.0",
      "100.127.255.255",
      "169.254.0.1",
      "169.254.255.255",
      "172.16.0.0",
      "172.31.255.255",
      "192.168.0.1",
      "192.0.0.8",
      "198.18.0.0",
      "198.19.255.255",
      "224.0.0.0",
      "239.255.255.255",
      "240.0.0.1",
    ];
    const outside = [
      "1.0.0.1",
      "9.255.255.255",
      "11.0.0.0",
      "126.255.255.255",
      "128.0.0.1",
      "100.63.255.255",
      "100.128.0.0",
      "99.64.0.1",
      "101.64.0.1",
      "169.253.255.255",
      "169.255.0.1",
      "168.254.0.1",
      "172.15.255.255",
      "172.32.0.0",
      "171.16.0.1",
      "173.16.0.1",
      "192.167.0.1",
      "192.169.0.1",
      "192.1.0.1",
      "191.168.0.1",
      "193.0.0.1",
      "198.17.255.255",
      "198.20.0.0",
      "197.18.0.1",
      "199.18.0.1",
      "223.255.255.255",
    ];
    for (const address of inside) expect(refused(`https://${address}/`), address).toBe(true);
    for (const address of outside) expect(refused(`https://${address}/`), address).toBe(false);
  });

  it("I67: IPv6: loopback and unspecified only as ::1 and ::, mapped and compatible IPv4 by their IPv4 address, each private prefix at its edges", () => {
    const inside = [
      "::",
      "::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "::10.0.0.1",
      "::0.0.0.2",
      "fc00::",
      "fdff:ffff::1",
      "fe80::",
      "febf:ffff::1",
      "ff00::",
      "ffff::1",
      "64:ff9b::808:808",
    ];
    const outside = [
      "::ffff:8.8.8.8",
      "::8.8.8.8",
      "1::1",
      "fbff:ffff::1",
      "fe00::1",
      "fec0::1",
      "feff::1",
      "2001:db8::1",
      "64:ff9a::808:808",
      "65:ff9b::808:808",
      "1:0:0:0:0:ffff:a00:1",
      "0:0:0:0:1:ffff:a00:1",
      "0:0:0:0:0:fffe:a00:1",
    ];
    for (const address of inside) expect(refused(`https://[${address}]/`), address).toBe(true);
    for (const address of outside) expect(refused(`https://[${address}]/`), address).toBe(false);
  });

  it("I67: user info is refused in either half", () => {
    expect(refused("https://user@issuer.acme.example/")).toBe(true);
    expect(refused("https://:secret@issuer.acme.example/")).toBe(true);
    expect(refused("https://issuer.acme.example/")).toBe(false);
  });

  it("I67: local names are refused with or without a trailing dot, and names that only contain the suffixes pass", () => {
    for (const name of [
      "intranet.",
      "localhost.",
      "printer.local.",
      "api.localhost.",
      "metadata.google.internal.",
      "router.home.arpa",
      "router.home.arpa.",
      "LOCALHOST",
      "Api.LocalHost",
    ]) {
      expect(refused(`https://${name}/`), name).toBe(true);
    }
    for (const name of [
      "local.acme.example",
      "localhost.acme.example",
      "internal.acme.example",
      "home.arpa.acme.example",
    ]) {
      expect(refused(`https://${name}/`), name).toBe(false);
    }
  });

  it("I67: the loud option admits http and every address, but only when it is exactly true", () => {
    const loud = { allowInsecureMetadataUrls: true };
    expect(refused("https://127.0.0.1/", loud)).toBe(false);
    expect(refused("https://localhost/", loud)).toBe(false);
    expect(refused("http://10.0.0.1/", loud)).toBe(false);
    expect(refused("ftp://issuer.acme.example/", loud)).toBe(true);
    expect(refused("https://user@127.0.0.1/", loud)).toBe(true);
    expect(refused("http://issuer.acme.example/")).toBe(true);
    const truthy = { allowInsecureMetadataUrls: "yes" as unknown as boolean };
    expect(refused("http://issuer.acme.example/", truthy)).toBe(true);
    expect(refused("https://127.0.0.1/", truthy)).toBe(true);
  });

  it("returns the parsed URL, and takes a URL object", () => {
    const url = checkMetadataUrl(new URL("https://issuer.acme.example/jwks?x=1"));
    expect(url).toBeInstanceOf(URL);
    expect(url.href).toBe("https://issuer.acme.example/jwks?x=1");
  });
});
