package aci

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Kinds of credential [NewCredential] makes.
const (
	// CredentialDefault tries, in order, the environment, workload
	// identity, managed identity and the Azure CLI (azidentity's
	// DefaultAzureCredential).
	CredentialDefault = "default"
	// CredentialManagedIdentity is the managed identity of the VM,
	// Container App or App Service baton runs on.
	CredentialManagedIdentity = "managed-identity"
	// CredentialWorkloadIdentity is a federated identity, as on AKS.
	CredentialWorkloadIdentity = "workload-identity"
	// CredentialAzureCLI is whoever `az login` signed in.
	CredentialAzureCLI = "azure-cli"
	// CredentialEnvironment reads AZURE_TENANT_ID, AZURE_CLIENT_ID and a
	// certificate or secret from the environment, never from baton's
	// configuration.
	CredentialEnvironment = "environment"
)

// NewCredential returns the credential of the given kind; empty means
// [CredentialDefault]. clientID picks one of several user-assigned
// identities of the host for managed and workload identity; it is an ID,
// not a secret. Nothing is contacted until a token is needed. client, when
// set, gives the credential's own requests a cloud and a transport.
func NewCredential(kind, clientID string, client *arm.ClientOptions) (azcore.TokenCredential, error) {
	var co azcore.ClientOptions
	if client != nil {
		co = client.ClientOptions
		// The credential's requests are not ARM's: the executor's own
		// policies do not apply to them.
		co.PerCallPolicies, co.PerRetryPolicies = nil, nil
	}
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch kind {
	case "", CredentialDefault:
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co})
	case CredentialManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if clientID != "" {
			o.ID = azidentity.ClientID(clientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(o)
	case CredentialWorkloadIdentity:
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co, ClientID: clientID})
	case CredentialAzureCLI:
		cred, err = azidentity.NewAzureCLICredential(nil)
	case CredentialEnvironment:
		cred, err = azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: co})
	default:
		return nil, fmt.Errorf("aci: credential %q; use one of %s, %s, %s, %s or %s (keys and passwords are never read from baton's configuration)",
			kind, CredentialDefault, CredentialManagedIdentity, CredentialWorkloadIdentity, CredentialAzureCLI, CredentialEnvironment)
	}
	if err != nil {
		return nil, fmt.Errorf("aci: credential %s: %w", kindName(kind), err)
	}
	return cred, nil
}

func kindName(kind string) string {
	if kind == "" {
		return CredentialDefault
	}
	return kind
}
