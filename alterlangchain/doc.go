// Package alterlangchain puts Alter Vault behind tools of github.com/tmc/langchaingo: a
// [Tool] implements langchaingo's tools.Tool (Name, Description, Call) around a function of
// yours that calls APIs through a facade App or Agent, as alter-sdk's langchain.alter_tool
// does for LangChain.
//
// Each Call runs the function with a context whose audit context names the tool and the
// framework ("tool", "framework": "langchaingo"), merged over what the caller's ctx already
// carries (facade.WithTrace's run and thread ids, an Agent.Trace scope), so every vault call the
// function makes with that ctx is attributed to the tool in the audit trail. When the call
// fails because the person has to act (no grant or delegation yet, an expired grant, missing
// scopes, a credential revoked at the provider) or has to choose (several accounts match), the
// tool answers the model with a message instead of an error: for an action, a fresh Connect
// URL from facade's UserActionFor, so the model can hand the link to the person. Every other
// error stays an error, for the agent loop to handle.
//
// The package is a module of its own (github.com/altersdk/alter-go/alterlangchain) so that
// programs importing only facade never compile langchaingo.
package alterlangchain
