# SPDX-License-Identifier: MIT
# Bash completion for cma-dump, cma-verify and cma-convert: their options
# and files. The options are read from the tool's own --help, so they
# cannot drift from the tool; installed once under each tool's name.

# The long options of tool $1, one a line as "--name" or "--name=ARG"
# (argp's help: "  -o, --output=OUT   ..."), cached per tool.
_cma_options()
{
	local var=_cma_opts_${1//[^a-zA-Z0-9]/_}

	if [[ -z ${!var-} ]]; then
		printf -v "$var" '%s' "$(LC_ALL=C "$1" --help 2>/dev/null |
			sed -n -E 's/^ +(-[^ ,], )?(--[a-z][a-z-]*(\[?=[^ ]+)?).*/\2/p')"
	fi
	printf '%s\n' "${!var}"
}

# What the argument of option $2 of tool $1 is: "file", "dot", "none"
# (an option without one), "optional" (only as --name=ARG) or "value" (a
# number, an address, a type).
_cma_argument()
{
	local line

	while read -r line; do
		case $line in
		"$2") echo none; return ;;
		"$2"=ELF | "$2"=FILE | "$2"=OUT) echo file; return ;;
		"$2"=dot) echo dot; return ;;
		"$2"\[=*) echo optional; return ;;
		"$2"=*) echo value; return ;;
		esac
	done < <(_cma_options "$1")
	echo none
}

# The long option a short one stands for (-o is --output), from --help.
_cma_long_of()
{
	LC_ALL=C "$1" --help 2>/dev/null |
		sed -n -E "s/^ +$2, (--[a-z][a-z-]*).*/\\1/p"
}

_cma_complete()
{
	local tool=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
	local prev='' opt='' attached='' kind i

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	# bash splits "--junit=rep" at '=' into "--junit" "=" "rep".
	if [[ $cur == = ]]; then
		opt=$prev
		cur=
		attached=1
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
		attached=1
	elif [[ $prev == --* ]]; then
		opt=$prev
	elif [[ $prev == -[a-zA-Z] ]]; then
		opt=$(_cma_long_of "$tool" "$prev")
	fi
	# An argument in a word of its own follows only a required one.
	if [[ -z $attached && -n $opt ]]; then
		case $(_cma_argument "$tool" "$opt") in
		none | optional) opt= ;;
		esac
	fi
	# After "--", every word is a file.
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -- ]] && opt= && break
	done
	if [[ -n $opt ]]; then
		kind=$(_cma_argument "$tool" "$opt")
		case $kind in
		file)
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			;;
		dot)
			mapfile -t COMPREPLY < <(compgen -W dot -- "$cur")
			;;
		esac
		return 0
	fi
	if [[ $cur == -* && $i -eq $COMP_CWORD ]]; then
		local words

		# --name=ARG is offered as "--name=" and completed on.
		words=$(_cma_options "$tool" | sed -E 's/\[?=.*/=/')
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	return 0
}

complete -F _cma_complete cma-dump cma-verify cma-convert
