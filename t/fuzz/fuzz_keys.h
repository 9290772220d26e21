/*
 * Test keys of the fuzz targets, written by genkeys.c.
 * They sign the seed tokens under corpus/ and nothing else.
 */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H

static const char fuzz_rsa_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC/usqeGsgoZnaB\n"
    "hFuyasbn2qXcSj86DfhuHiltZPdUUfTZf2Nn/FwODDs+WHM0f4cxBwIlu1FucUMn\n"
    "DpSXMMJTDWbB6DcrFeq+IBge5n+3AmXOMoxgjUofxVbzoTTaNvtUHH2yh4gOLTbI\n"
    "A/31Ku5dNN7oKXzv5yPiHgo0MN0QLsjtn8lxHETU8xWR2nu6mJFXaCUqZEg+14/d\n"
    "aLHfzstFLn3xMJMm/yeYYYpk3BQTXcB+JV+Zy7y6/UIyykwAxo31f6It/VXZhRYs\n"
    "4jb111TsZzITX4GflZMtIumjQibRBpXbbQdQOuukNpI2q6gfAy++S/Bpirn9T30j\n"
    "Si601iETAgMBAAECggEAD7+A+wGKJT9dRoAfpAT/N3YPH4v9q4AQQsM5deHQKt3c\n"
    "dazv9k+VJBY/G3zaYZqD+TPxKjY7lw24jVG2RMDdhULZiN3RAjn3oQwzzv3xyY9p\n"
    "20jtnNSeHQPxg2tfUvknJZ59eJeHRlrSYBVr26JeF8vK71jRCUd7/AupnOXSkoyQ\n"
    "qxi5stpPrcP1uIRUDuxINvarxIIgTRUAbVUXwj/iwkIMOkRDE/3ZZ9Q7fOmk5uXo\n"
    "I+OTXv8xAqmLmHq0Xoe/DwptIIBMdDimWqLv0H0ksC93eh9S6XIz2x4rNXEmEPU6\n"
    "KJCLYBndrSwM/7dn5gaQRdWup/0DjceHGG4nkTWlAQKBgQDyjg+HfEGTgzHr/8At\n"
    "A8bCgCQmrw+RQIe/A6BtzC7ugy0EkZVCa84YWLbv/73vHFvQ6UAZjnSL1bZ+Gyc7\n"
    "Ky3n/K0DpcDAZRS2s39SdqKeAnDxQ7v2QWihA07G3ci0qywtIYZShcbZd7PZfn8V\n"
    "Gl3YPg9rbxFU6HtLu83P/ucAkwKBgQDKW4Ce/43c1JnzwsyGM4uzxOn7MRlrjtLP\n"
    "vbLoj3ro+SI3xvj8iwUM4tolKOd2Z4lsnnfVEaORQNhTedQCXabXA3PUdyS2VvLX\n"
    "oyzYoor5hpuT6bWpe4NLmmUrZdHs728RLvQSlyC2xGvKeCSaXnWUi5rNR+my8TRo\n"
    "MSnn8XctgQKBgQDyfua1rJufD+4sJMAMAReIwzXhWun0bRCJ/uU4gId3O7wZMjeI\n"
    "dWFR4/fZT9SjJrYA0gGcy1hnqR1PTHRXal717R9IY0Gm2CfyVNh5KFSCJqyl+PMF\n"
    "SvWA7F6o4XjUb8G1ySuSe16Hcm5jhl0lSvwBwmIGJb+tJNSHrdYhGZX3cwKBgHLd\n"
    "Z/BZHdzZbZ5Z2CDhh45+21Zz83sDcpTrmG+8akdui8bfkhxAiZhb+PoY8vJaKT7X\n"
    "4Su4PIHKLkGMKRVCtd7dHdXf354FUwmmnWFHOt4TU6Ktiinva4Lx3DW7MWNuMjyt\n"
    "y2v2D2LPsmQWuKhLsDCm4jNee8DQfDAcoC4B+eWBAoGBAKe5W70WXcjXzowVhY7X\n"
    "xaJRXZbaeMRriiVFfYU5JwDA10/i0z3pCBiInwXy1KReyRK3GWNfq02KMm79WGv2\n"
    "8SYloRpGcD00ws/5yYjaXSWPNIKcgoS98p91lDlWO3z4UJpJP0iCK8JA1qlQX6Yk\n"
    "O5S4lYB7FdEtV8nymUuJHRjY\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_ec_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfH5UpqbaoVG3+jc8\n"
    "vNWm2JTLBDI2t87wm4h2OVAL6HqhRANCAARwwIirmlhSPTT+iBxnPMho1lm7n+M9\n"
    "ARTpPAnc9g2Yy63AaMrWwsr3C7pLLBT6IDSP+dUNceu3oXtooNnCktRz\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_jwks_json[] =
    "{\"keys\":[\n"
    "{\"kty\":\"RSA\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\",\"e\":\"AQAB\",\n"
    "\"n\":\"v7rKnhrIKGZ2gYRbsmrG59ql3Eo_Og34bh4pbWT3VFH02X9jZ_xcDgw7Plh"
    "zNH-HMQcCJbtRbnFDJw6UlzDCUw1mweg3KxXqviAYHuZ_twJlzjKMYI1KH8VW86E"
    "02jb7VBx9soeIDi02yAP99SruXTTe6Cl87-cj4h4KNDDdEC7I7Z_JcRxE1PMVkdp"
    "7upiRV2glKmRIPteP3Wix387LRS598TCTJv8nmGGKZNwUE13AfiVfmcu8uv1CMsp"
    "MAMaN9X-iLf1V2YUWLOI29ddU7GcyE1-Bn5WTLSLpo0Im0QaV220HUDrrpDaSNqu"
    "oHwMvvkvwaYq5_U99I0outNYhEw\"},\n"
    "{\"kty\":\"EC\",\"kid\":\"fuzz-ec\",\"use\":\"sig\",\"alg\":\"ES256\",\n"
    "\"crv\":\"P-256\",\n"
    "\"x\":\"cMCIq5pYUj00_ogcZzzIaNZZu5_jPQEU6TwJ3PYNmMs\",\n"
    "\"y\":\"rcBoytbCyvcLukssFPogNI_51Q1x67ehe2ig2cKS1HM\"}\n"
    "]}\n";

#endif
